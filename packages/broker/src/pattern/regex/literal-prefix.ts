/**
 * The literal text every match of a regex starts with: `/sensors\.eu\.(a|b)+/`
 * → `sensors.eu.`. Matches are whole-topic (safe-regex.ts), so a topic that
 * does not start with it cannot match, and the subscription index runs the
 * regex only on topics that do (as NATS and MQTT brokers index subjects by
 * their literal tokens). A regex with nothing fixed up front (`/.*x/`) has
 * the empty prefix and is run on every new topic, as before; the cluster's
 * regex-state budget bounds that cost.
 *
 * The prefix is conservative: it may be shorter than the longest true one,
 * never longer, and it changes no result, only which topics a regex is run on.
 */
import type { CharSet, RegexNode } from "./syntax.ts";

/** Every match of `node` starts with `text`; `exact` when every match IS `text` (so what follows may extend it). */
interface Prefix {
  readonly text: string;
  readonly exact: boolean;
}

const NOTHING_FIXED: Prefix = { text: "", exact: false };
const EMPTY: Prefix = { text: "", exact: true };

/** The longest prefix this analysis proves every match of `node` starts with (often ""). */
export function literalPrefix(node: RegexNode): string {
  return prefixOf(node).text;
}

function prefixOf(node: RegexNode): Prefix {
  switch (node.type) {
    case "empty": return EMPTY;
    // An assertion consumes nothing; where it cannot hold there is no match at all, which any prefix allows.
    case "assert": return EMPTY;
    case "char": {
      const unit = singleUnit(node.set);
      return unit === undefined ? NOTHING_FIXED : { text: String.fromCharCode(unit), exact: true };
    }
    case "concat": {
      let text = "";
      for (const item of node.items) {
        const p = prefixOf(item);
        text += p.text;
        if (!p.exact) return { text, exact: false };
      }
      return { text, exact: true };
    }
    case "alt": {
      const options = node.options.map(prefixOf);
      const text = options.reduce((common, p) => commonPrefix(common, p.text), options[0]?.text ?? "");
      return { text, exact: options.every((p) => p.exact && p.text === text) };
    }
    case "repeat": {
      if (node.min === 0) return node.max === 0 ? EMPTY : NOTHING_FIXED;
      const p = prefixOf(node.item); // at least one copy comes first
      return { text: p.text, exact: p.exact && node.max === 1 };
    }
  }
}

/** The one code unit `set` holds, or undefined when it holds none or several. */
function singleUnit(set: CharSet): number | undefined {
  const [lo, hi] = set.ranges;
  return !set.negated && set.ranges.length === 2 && lo !== undefined && lo === hi ? lo : undefined;
}

function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return a.slice(0, i);
}

/**
 * Does a grant's pattern cover a subscription's pattern — is every topic the
 * subscription can match also matched by the grant? Decided on the
 * patterns' segments, never by trying topics, in O(grant × subscription
 * segments). The answer is safe: "covered" only when every topic is (a
 * test checks it against brute force). It can say "not covered" for some
 * unusual equivalent spellings — a grant `*.**` and a subscription `**.b`,
 * where a `**` would have to split across a grant's `*` — and then the
 * subscriber writes the pattern in the grant's shape (`*.**.b`… ) or asks
 * for a wider grant.
 *
 * A subscription segment stands for a set of topic segments: a literal for
 * itself, `*` for any one segment, `**` for one or more. A grant covers a
 * run of subscription segments when:
 * - grant literal ↔ the same literal;
 * - grant `*` ↔ one literal or one `*`;
 * - grant `**` ↔ one or more subscription segments of any kind.
 * The rule of pattern.ts that a wildcard in the FIRST segment never matches
 * `$sys` holds on both sides: a subscription on `$sys.…` is covered only by
 * a grant that names `$sys` literally, and the reverse cannot happen (a
 * subscription with a wildcard first segment matches no `$sys.` topic).
 */
import { MULTI_WILDCARD, SINGLE_WILDCARD } from "../pattern/pattern.ts";
import { SYSTEM_TOPIC_SEGMENT } from "../topic/topic-name.ts";

/** True when every topic matched by the pattern of segments `sub` is matched by the pattern of segments `grant`. */
export function covers(grant: readonly string[], sub: readonly string[]): boolean {
  if (sub[0] === SYSTEM_TOPIC_SEGMENT && grant[0] !== SYSTEM_TOPIC_SEGMENT) return false;
  // reach[j]: the grant so far covers exactly the first j subscription segments.
  let reach = new Array<boolean>(sub.length + 1).fill(false);
  reach[0] = true;
  for (const g of grant) {
    const next = new Array<boolean>(sub.length + 1).fill(false);
    let anyBefore = false;
    for (let k = 1; k <= sub.length; k++) {
      const prev = reach[k - 1] === true;
      anyBefore ||= prev;
      const s = sub[k - 1]!;
      if (g === MULTI_WILDCARD) next[k] = anyBefore;
      else if (g === SINGLE_WILDCARD) next[k] = prev && s !== MULTI_WILDCARD;
      else next[k] = prev && s === g;
    }
    reach = next;
  }
  return reach[sub.length] === true;
}

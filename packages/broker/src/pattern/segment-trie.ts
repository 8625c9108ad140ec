/**
 * A trie over pattern segments, for matching one topic against many exact and
 * wildcard subscriptions without looking at each of them (SPEC.md §4).
 *
 * A pattern's path from the root spells its segments; `*` and `**` edges are
 * kept apart from literal edges. Matching walks the trie as an NFA over the
 * topic's segments: a state is (node, topic position), and each state is
 * visited at most once per match, so many `**` cannot make the walk blow up.
 * Cost: O(visited states × topic depth), independent of how many patterns
 * share no prefix with the topic.
 */
import { MULTI_WILDCARD, SINGLE_WILDCARD } from "./pattern.ts";
import { SYSTEM_TOPIC_SEGMENT } from "../topic/topic-name.ts";

interface TrieNode {
  readonly literal: Map<string, TrieNode>;
  single: TrieNode | undefined;
  multi: TrieNode | undefined;
  /** Ids of subscriptions whose pattern ends here. */
  readonly ids: Set<string>;
  /** `ids` in ascending order, made on first lookup after a change (thousands of subscriptions on one pattern are not re-sorted per message). */
  sorted: readonly string[] | undefined;
}

function newNode(): TrieNode {
  return { literal: new Map(), single: undefined, multi: undefined, ids: new Set(), sorted: undefined };
}

/** Exact and wildcard patterns, keyed by subscription id. */
export class SegmentTrie {
  private readonly root = newNode();

  /** Records that subscription `id` has pattern `segments`. */
  insert(segments: readonly string[], id: string): void {
    let node = this.root;
    for (const seg of segments) node = child(node, seg) ?? attach(node, seg);
    node.ids.add(id);
    node.sorted = undefined;
  }

  /** Forgets `id` under `segments` and prunes nodes left empty. */
  delete(segments: readonly string[], id: string): void {
    const path: TrieNode[] = [this.root];
    for (const seg of segments) {
      const next = child(path[path.length - 1] as TrieNode, seg);
      if (next === undefined) return;
      path.push(next);
    }
    const last = path[path.length - 1] as TrieNode;
    last.ids.delete(id);
    last.sorted = undefined;
    for (let i = segments.length; i > 0; i--) {
      const node = path[i] as TrieNode;
      if (node.ids.size > 0 || node.literal.size > 0 || node.single !== undefined || node.multi !== undefined) break;
      detach(path[i - 1] as TrieNode, segments[i - 1] as string);
    }
  }

  /**
   * Appends to `out` one list per trie node whose patterns match topic
   * `segments`: each list holds that node's ids in ascending order (compareIds);
   * no id is in two lists. The lists are shared: callers must not change them.
   */
  collect(segments: readonly string[], out: (readonly string[])[]): void {
    const n = segments.length;
    // visited[i] holds the nodes already reached with i topic segments consumed.
    const visited: Set<TrieNode>[] = Array.from({ length: n + 1 }, () => new Set<TrieNode>());
    const stack: [TrieNode, number][] = [[this.root, 0]];
    // A first-segment wildcard never matches the reserved `$sys` (pattern.ts).
    const guardSystem = segments[0] === SYSTEM_TOPIC_SEGMENT;
    const push = (node: TrieNode | undefined, i: number): void => {
      const seen = visited[i] as Set<TrieNode>;
      if (node === undefined || seen.has(node)) return;
      seen.add(node);
      stack.push([node, i]);
    };
    visited[0]?.add(this.root);
    for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
      const [node, i] = top;
      if (i === n) {
        if (node.ids.size > 0) out.push((node.sorted ??= [...node.ids].sort(compareIds)));
        continue;
      }
      push(node.literal.get(segments[i] as string), i + 1);
      if (guardSystem && i === 0) continue;
      push(node.single, i + 1);
      if (node.multi !== undefined) for (let j = i + 1; j <= n; j++) push(node.multi, j);
    }
  }
}

/** Ascending UTF-16 code-unit order (never locale order), the same on every replica. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function child(node: TrieNode, seg: string): TrieNode | undefined {
  if (seg === SINGLE_WILDCARD) return node.single;
  if (seg === MULTI_WILDCARD) return node.multi;
  return node.literal.get(seg);
}

function attach(node: TrieNode, seg: string): TrieNode {
  const created = newNode();
  if (seg === SINGLE_WILDCARD) node.single = created;
  else if (seg === MULTI_WILDCARD) node.multi = created;
  else node.literal.set(seg, created);
  return created;
}

function detach(node: TrieNode, seg: string): void {
  if (seg === SINGLE_WILDCARD) node.single = undefined;
  else if (seg === MULTI_WILDCARD) node.multi = undefined;
  else node.literal.delete(seg);
}

/**
 * Values keyed by id and filed under a literal prefix (a regex's, see
 * regex/literal-prefix.ts), looked up by a topic: {@link PrefixTrie.under}
 * yields the values whose prefix the topic starts with, walking one node
 * per code unit of the topic. Cost: O(topic length + values yielded), not
 * the number of values held; values under the empty prefix are always
 * yielded.
 */

interface PrefixNode<V> {
  readonly children: Map<number, PrefixNode<V>>;
  /** Values whose prefix ends here, by id. */
  readonly values: Map<string, V>;
}

function newNode<V>(): PrefixNode<V> {
  return { children: new Map(), values: new Map() };
}

/** Values by id, filed under their prefixes. */
export class PrefixTrie<V> {
  private readonly root: PrefixNode<V> = newNode();
  private count = 0;

  /** Values held. */
  get size(): number {
    return this.count;
  }

  /** Values under the empty prefix: yielded for every text. */
  get unprefixed(): number {
    return this.root.values.size;
  }

  /** Files `value` as `id` under `prefix` (the caller removes an id before adding it again). */
  insert(prefix: string, id: string, value: V): void {
    let node = this.root;
    for (let i = 0; i < prefix.length; i++) {
      const unit = prefix.charCodeAt(i);
      let next = node.children.get(unit);
      if (next === undefined) {
        next = newNode();
        node.children.set(unit, next);
      }
      node = next;
    }
    if (!node.values.has(id)) this.count++;
    node.values.set(id, value);
  }

  /** Forgets `id` under `prefix` and prunes the nodes left empty. */
  delete(prefix: string, id: string): void {
    const path: PrefixNode<V>[] = [this.root];
    for (let i = 0; i < prefix.length; i++) {
      const next = (path[i] as PrefixNode<V>).children.get(prefix.charCodeAt(i));
      if (next === undefined) return;
      path.push(next);
    }
    if ((path[prefix.length] as PrefixNode<V>).values.delete(id)) this.count--;
    for (let i = prefix.length; i > 0; i--) {
      const node = path[i] as PrefixNode<V>;
      if (node.values.size > 0 || node.children.size > 0) break;
      (path[i - 1] as PrefixNode<V>).children.delete(prefix.charCodeAt(i - 1));
    }
  }

  /** Every [id, value] whose prefix `text` starts with (each once, shorter prefixes first). */
  *under(text: string): Generator<[string, V]> {
    let node: PrefixNode<V> | undefined = this.root;
    for (let i = 0; node !== undefined; i++) {
      yield* node.values;
      if (i === text.length) break;
      node = node.children.get(text.charCodeAt(i));
    }
  }
}

/** A bounded set that forgets its least recently added or touched key first. */
export class LruSet<K> {
  readonly #keys = new Map<K, true>();
  readonly #capacity: number;

  /** @param capacity most keys held; adding one more evicts the oldest. */
  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`LruSet capacity must be a positive integer, got ${capacity}`);
    this.#capacity = capacity;
  }

  /** Number of keys held (≤ capacity). */
  get size(): number {
    return this.#keys.size;
  }

  /** True when `key` is held; marks it as recently used. */
  has(key: K): boolean {
    if (!this.#keys.has(key)) return false;
    this.#keys.delete(key);
    this.#keys.set(key, true);
    return true;
  }

  /** Add `key` (or refresh it), evicting the oldest key when full. */
  add(key: K): void {
    this.#keys.delete(key);
    this.#keys.set(key, true);
    if (this.#keys.size > this.#capacity) {
      const oldest = this.#keys.keys().next();
      if (oldest.done !== true) this.#keys.delete(oldest.value);
    }
  }
}

/**
 * Shared helpers of the storage tests: building entries, a full dump of a
 * storage's observable state (what a restart must reproduce exactly), the
 * MemoryStorage adapter with the durable async shape, and temp directories.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { StorageUpdate } from "../../src/core/storage.ts";
import type { ConfState, Entry, HardState, SnapshotMeta } from "../../src/core/types.ts";
import type { WritableStorage, WriteOptions } from "../../src/storage/level-storage.ts";
import { MemoryStorage } from "../../src/storage/memory-storage.ts";

/** An entry with `size` bytes of data derived from its index and term (so mismatches show). */
export function entry(index: number, term: number, size = 4): Entry {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (index * 31 + term * 7 + i) & 0xff;
  return { index, term, type: "normal", data };
}

/** Entries lo..lo+terms.length-1 with the given terms. */
export function entries(lo: number, terms: readonly number[], size = 4): Entry[] {
  return terms.map((t, i) => entry(lo + i, t, size));
}

/** Everything the core can observe, plus the hard state: equal dumps mean equal storages. */
export function dump(s: WritableStorage): unknown {
  const first = s.firstIndex();
  const last = s.lastIndex();
  return {
    first,
    last,
    baseTerm: s.term(first - 1),
    entries: last >= first ? s.entries(first, last + 1, Number.POSITIVE_INFINITY) : [],
    snapshot: s.snapshot(),
    initial: s.initialState(),
    hardState: s.getHardState(),
  };
}

/** MemoryStorage with the async write/compact shape; a restart keeps a clone, as a crash keeps the disk. */
export class MemoryAdapter implements WritableStorage {
  closed = false;

  constructor(readonly inner: MemoryStorage) {}

  async write(update: StorageUpdate, _opts: WriteOptions): Promise<void> {
    this.inner.write(update);
  }
  async compact(meta: SnapshotMeta, keepFrom: number): Promise<void> {
    this.inner.compact(meta, keepFrom);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  getHardState(): HardState {
    return this.inner.getHardState();
  }
  initialState() {
    return this.inner.initialState();
  }
  term(index: number) {
    return this.inner.term(index);
  }
  entries(lo: number, hi: number, maxBytes: number) {
    return this.inner.entries(lo, hi, maxBytes);
  }
  firstIndex() {
    return this.inner.firstIndex();
  }
  entryBytes(index: number) {
    return this.inner.entryBytes(index);
  }
  lastIndex() {
    return this.inner.lastIndex();
  }
  snapshot() {
    return this.inner.snapshot();
  }

  /** A fresh adapter over what this one persisted. */
  static fresh(bootstrap?: ConfState): MemoryAdapter {
    return new MemoryAdapter(new MemoryStorage(bootstrap));
  }
}

/** Temp directories created by a test file, removed by `cleanup`. */
export class TempDirs {
  private readonly dirs: string[] = [];

  /** A new empty directory. */
  async make(prefix = "raftbus-storage-"): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** Removes every directory made. */
  async cleanup(): Promise<void> {
    for (const d of this.dirs.splice(0)) await rm(d, { recursive: true, force: true });
  }
}

/** Collects an async stream of chunks into one buffer. */
export async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Deterministic pseudo-random bytes (xorshift), so failures replay. */
export function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** An async stream over `data` in chunks of `size` bytes. */
export async function* chunked(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

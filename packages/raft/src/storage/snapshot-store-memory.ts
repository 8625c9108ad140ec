/**
 * Snapshot data held in memory: the simulator's "disk" and the reference
 * for FileSnapshotStore's behaviour. Chunks are copied in and out, so a
 * caller reusing a buffer cannot change a stored snapshot.
 */
import { assert } from "../core/assert.ts";
import type { SnapshotMeta } from "../core/types.ts";
import { StorageClosedError, StorageNotFoundError } from "./errors.ts";
import type { SnapshotReceiver, SnapshotStore, SnapshotStoreLimits } from "./snapshot-store.ts";
import { DEFAULT_SNAPSHOT_LIMITS, Serial, newPart, sameSnapshot, splitChunk } from "./snapshot-store.ts";

/** Limits of the in-memory store. */
export interface MemorySnapshotLimits extends SnapshotStoreLimits {
  /** Largest snapshot held (data bytes); a bigger one is a configuration bug in a test or simulation. */
  readonly snapshotBytesMax: number;
}

interface Stored {
  readonly meta: SnapshotMeta;
  readonly chunks: readonly Uint8Array[];
}

/** Complete snapshots by index, plus at most one receive in progress. */
export class MemorySnapshotStore implements SnapshotStore {
  private readonly snaps = new Map<number, Stored>();
  private receiving: MemoryReceiver | undefined;
  private readonly limits: MemorySnapshotLimits;

  /** Defaults: 1 MiB chunks, 256 MiB per snapshot. */
  constructor(limits: Partial<MemorySnapshotLimits> = {}) {
    this.limits = { ...DEFAULT_SNAPSHOT_LIMITS, snapshotBytesMax: 256 * 1024 * 1024, ...limits };
  }

  /** @inheritDoc */
  async save(meta: SnapshotMeta, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const data = new ChunkBuffer(this.limits);
    for await (const chunk of chunks) data.push(chunk);
    this.snaps.set(meta.index, { meta, chunks: data.chunks });
  }

  /** @inheritDoc */
  open(index: number): AsyncIterable<Uint8Array> {
    const stored = this.snaps.get(index);
    if (stored === undefined) throw new StorageNotFoundError(`snapshot ${index}`);
    return copies(stored.chunks);
  }

  /** @inheritDoc */
  latest(): SnapshotMeta | undefined {
    let best: SnapshotMeta | undefined;
    for (const { meta } of this.snaps.values()) if (best === undefined || meta.index > best.index) best = meta;
    return best;
  }

  /** @inheritDoc */
  async prune(keepIndex: number): Promise<void> {
    const keep = Math.min(keepIndex, this.latest()?.index ?? keepIndex);
    for (const index of [...this.snaps.keys()]) if (index < keep) this.snaps.delete(index);
    if (this.receiving !== undefined && this.receiving.meta.index < keep) await this.receiving.abort();
  }

  /** @inheritDoc */
  async beginReceive(meta: SnapshotMeta): Promise<SnapshotReceiver> {
    const current = this.receiving;
    if (current !== undefined && sameSnapshot(current.meta, meta)) return current;
    if (current !== undefined) await current.abort();
    const receiver = new MemoryReceiver(meta, this.limits, (r, commit) => this.finish(r, commit));
    this.receiving = receiver;
    return receiver;
  }

  /** Nothing to release: memory is the whole store. */
  async close(): Promise<void> {}

  private finish(r: MemoryReceiver, commit: readonly Uint8Array[] | undefined): void {
    if (commit !== undefined) this.snaps.set(r.meta.index, { meta: r.meta, chunks: commit });
    if (this.receiving === r) this.receiving = undefined;
  }
}

/** Chunks accumulated under the limits: split to chunkBytesMax, total bounded, copied. */
class ChunkBuffer {
  readonly chunks: Uint8Array[] = [];
  bytes = 0;

  constructor(private readonly limits: MemorySnapshotLimits) {}

  push(chunk: Uint8Array): void {
    assert(this.bytes + chunk.length <= this.limits.snapshotBytesMax,
      () => `snapshot exceeds snapshotBytesMax ${this.limits.snapshotBytesMax}`);
    for (const piece of splitChunk(chunk, this.limits.chunkBytesMax)) this.chunks.push(piece.slice());
    this.bytes += chunk.length;
  }
}

class MemoryReceiver implements SnapshotReceiver {
  private readonly data: ChunkBuffer;
  private readonly serial = new Serial();
  private done = false;

  constructor(
    readonly meta: SnapshotMeta,
    limits: MemorySnapshotLimits,
    private readonly onFinish: (r: MemoryReceiver, commit: readonly Uint8Array[] | undefined) => void,
  ) {
    this.data = new ChunkBuffer(limits);
  }

  get receivedBytes(): number {
    return this.data.bytes;
  }

  write(chunk: Uint8Array, offset: number): Promise<void> {
    return this.serial.run(async () => {
      this.checkOpen();
      const part = newPart(this.data.bytes, chunk, offset);
      if (part.length > 0) this.data.push(part);
    });
  }

  commit(): Promise<void> {
    return this.serial.run(async () => {
      this.checkOpen();
      this.done = true;
      this.onFinish(this, this.data.chunks);
    });
  }

  abort(): Promise<void> {
    return this.serial.run(async () => {
      if (this.done) return;
      this.done = true;
      this.onFinish(this, undefined);
    });
  }

  private checkOpen(): void {
    if (this.done) throw new StorageClosedError(`receive of snapshot ${this.meta.index}`);
  }
}

async function* copies(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c.slice();
}

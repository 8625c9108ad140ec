/**
 * The node's snapshot store on the simulated disk: the real in-memory store
 * (its data survives crashes, as the file store's fsync'd files do), with
 * every chunk read or written taking the disk's time. So a snapshot being
 * saved or streamed overlaps with applies, the way it does on a real disk —
 * a state machine whose snapshot() does not pin one consistent state is
 * caught doing it.
 */
import type { SnapshotMeta } from "../../src/core/types.ts";
import type { SnapshotReceiver, SnapshotStore } from "../../src/storage/snapshot-store.ts";
import type { MemorySnapshotStore } from "../../src/storage/snapshot-store-memory.ts";

/** A snapshot store whose chunks each wait `delay(bytes)` (which never resolves for a dead process). */
export class SlowSnapshotStore implements SnapshotStore {
  constructor(private readonly inner: MemorySnapshotStore, private readonly delay: (bytes: number) => Promise<void>) {}

  save(meta: SnapshotMeta, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    return this.inner.save(meta, this.slowly(chunks));
  }

  open(index: number): AsyncIterable<Uint8Array> {
    return this.slowly(this.inner.open(index)); // open() throws STORAGE_NOT_FOUND at once, as the interface says
  }

  latest(): SnapshotMeta | undefined {
    return this.inner.latest();
  }

  prune(keepIndex: number): Promise<void> {
    return this.inner.prune(keepIndex);
  }

  async beginReceive(meta: SnapshotMeta): Promise<SnapshotReceiver> {
    const r = await this.inner.beginReceive(meta);
    const delay = this.delay;
    return {
      meta: r.meta,
      get receivedBytes() {
        return r.receivedBytes;
      },
      async write(chunk: Uint8Array, offset: number): Promise<void> {
        await delay(chunk.byteLength);
        await r.write(chunk, offset);
      },
      commit: () => r.commit(),
      abort: () => r.abort(),
    };
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async *slowly(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const c of chunks) {
      await this.delay(c.byteLength);
      yield c;
    }
  }
}

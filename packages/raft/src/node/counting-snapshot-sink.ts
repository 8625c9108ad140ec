/**
 * A SnapshotSink wrapper that counts what passes through it: transfers
 * opened, chunks and bytes written, transfers committed and aborted. The
 * transport calls `write` once per chunk frame it received, so
 * `chunksWritten` is how many wire chunks incoming snapshots took — what a
 * status page (and the process tests) read to see that a snapshot really
 * arrived in pieces.
 */
import type { NodeId, SnapshotMeta } from "../core/types.ts";
import type { SnapshotSink, SnapshotWriter } from "../transport/transport.ts";

/** Monotonic counters of incoming snapshot transfers. */
export interface SnapshotReceiveCounters {
  /** begin() calls: new transfers and resumed ones. */
  begun: number;
  /** write() calls that succeeded: one per chunk frame received. */
  chunksWritten: number;
  /** Bytes of snapshot data written. */
  bytesWritten: number;
  /** Transfers committed (durable and handed to Raft). */
  committed: number;
  /** Transfers aborted (timeout, failure, superseded, shutdown). */
  aborted: number;
  /** Index of the last committed snapshot; 0 before the first. */
  lastCommittedIndex: number;
}

/** `inner` with counters; the counters object is live (read it any time). */
export function countingSnapshotSink(inner: SnapshotSink): { sink: SnapshotSink; counters: SnapshotReceiveCounters } {
  const counters: SnapshotReceiveCounters = {
    begun: 0, chunksWritten: 0, bytesWritten: 0, committed: 0, aborted: 0, lastCommittedIndex: 0,
  };
  const sink: SnapshotSink = {
    async begin(meta: SnapshotMeta, from: NodeId): Promise<SnapshotWriter> {
      const writer = await inner.begin(meta, from);
      counters.begun++;
      return {
        receivedBytes: writer.receivedBytes,
        async write(chunk: Uint8Array): Promise<void> {
          await writer.write(chunk);
          counters.chunksWritten++;
          counters.bytesWritten += chunk.byteLength;
        },
        async commit(): Promise<void> {
          await writer.commit();
          counters.committed++;
          counters.lastCommittedIndex = meta.index;
        },
        async abort(): Promise<void> {
          await writer.abort();
          counters.aborted++;
        },
      };
    },
  };
  return { sink, counters };
}

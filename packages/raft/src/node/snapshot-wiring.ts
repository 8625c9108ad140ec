/**
 * Connects a SnapshotStore to a transport: the store is the source of
 * outgoing snapshot data and the sink of incoming data (with resume, since
 * the store's receiver remembers how many bytes it already holds).
 */
import type { NodeId, SnapshotMeta } from "../core/types.ts";
import type { SnapshotStore } from "../storage/snapshot-store.ts";
import type { SnapshotSink, SnapshotSource, SnapshotWriter } from "../transport/transport.ts";

/** Outgoing snapshots stream from the store. */
export function snapshotSourceFor(store: SnapshotStore): SnapshotSource {
  return { open: (meta: SnapshotMeta) => store.open(meta.index) };
}

/** Incoming snapshots are written to the store; a reopened transfer continues where it stopped. */
export function snapshotSinkFor(store: SnapshotStore): SnapshotSink {
  return {
    async begin(meta: SnapshotMeta, _from: NodeId): Promise<SnapshotWriter> {
      const receiver = await store.beginReceive(meta);
      let offset = receiver.receivedBytes;
      return {
        receivedBytes: receiver.receivedBytes,
        async write(chunk: Uint8Array): Promise<void> {
          await receiver.write(chunk, offset);
          offset += chunk.byteLength;
        },
        commit: () => receiver.commit(),
        abort: () => receiver.abort(),
      };
    },
  };
}

/**
 * Connects a SnapshotStore to a transport: the store is the source of
 * outgoing snapshot data and the sink of incoming data (with resume, since
 * the store's receiver remembers how many bytes it already holds).
 */
import type { NodeId, SnapshotMeta } from "../core/types.ts";
import { SnapshotInvalidError } from "../storage/errors.ts";
import type { SnapshotStore } from "../storage/snapshot-store.ts";
import type { SnapshotSink, SnapshotSource, SnapshotWriter } from "../transport/transport.ts";

/** Outgoing snapshots stream from the store. */
export function snapshotSourceFor(store: SnapshotStore): SnapshotSource {
  return { open: (meta: SnapshotMeta) => store.open(meta.index) };
}

/** Checks a received snapshot before it is delivered (StateMachine.verifySnapshot). */
export type SnapshotVerifier = (meta: SnapshotMeta, chunks: AsyncIterable<Uint8Array>) => Promise<void>;

/**
 * Incoming snapshots are written to the store; a reopened transfer continues
 * where it stopped. With `verify`, a committed snapshot is read back through
 * it before the transport delivers the `snap` message to Raft: one that
 * fails is refused with SNAPSHOT_INVALID (the sender is told the transfer
 * failed; Raft never installs it), so it can never become the snapshot every
 * later start restores from.
 */
export function snapshotSinkFor(store: SnapshotStore, verify?: SnapshotVerifier): SnapshotSink {
  return {
    async begin(meta: SnapshotMeta, from: NodeId): Promise<SnapshotWriter> {
      const receiver = await store.beginReceive(meta);
      let offset = receiver.receivedBytes;
      return {
        receivedBytes: receiver.receivedBytes,
        async write(chunk: Uint8Array): Promise<void> {
          await receiver.write(chunk, offset);
          offset += chunk.byteLength;
        },
        async commit(): Promise<void> {
          await receiver.commit();
          if (verify === undefined) return;
          try {
            await verify(meta, store.open(meta.index));
          } catch (err) {
            throw new SnapshotInvalidError(meta.index, meta.term, from, err);
          }
        },
        abort: () => receiver.abort(),
      };
    },
  };
}

/**
 * `raftbus restore`: seeds the data directories of a NEW cluster from a
 * backup file, so nodes started on them come up with every topic, message,
 * subscription offset and dead letter of the backup, at the backup's index.
 *
 * Each data directory ends up exactly as a follower's does after it
 * installed a leader's snapshot: the broker state restored from the
 * snapshot stream (the same crash-safe restore), a Raft snapshot of it at
 * the backup's index and term in the snapshot store, and a Raft log that
 * starts after that index with the new cluster's id and voters. Nothing
 * else is carried over: the old cluster's log, ids and addresses stay
 * behind, so the new cluster can never talk to the old one.
 *
 * The whole file is verified (format, versions, checksums) before anything
 * is written; a directory is refused unless it is empty, and what a failed
 * restore wrote is removed again.
 */
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { RaftbusError } from "@raftbus/client/protocol";
import { FileSnapshotStore, LevelStorage } from "@raftbus/raft";
import type { SnapshotMeta } from "../raft-api.ts";
import { BrokerStateMachine } from "../broker-state-machine.ts";
import { MEMBER_BOOK_VERSION } from "../state/members.ts";
import { effectiveVersion } from "../version/cluster-version.ts";
import type { PeerSpec } from "../server/config.ts";
import { BackupInvalidError, snapshotOfBackup } from "./backup-format.ts";
import type { BackupReadState } from "./backup-format.ts";
import { inspectBackup } from "./backup-inspect.ts";
import type { BackupSummary } from "./backup-inspect.ts";

/** The parts of a node's data directory a restore writes (as composeNode opens them). */
const PARTS = ["raft", "broker", "snapshots"] as const;

/** What to restore, and where. */
export interface RestoreOptions {
  /** Opens the backup file from its start (it is read twice: verified, then loaded). */
  readonly open: () => AsyncIterable<Uint8Array>;
  /** The new cluster's id: must differ from the backup's. */
  readonly clusterId: string;
  /** Every voter of the new cluster, with its addresses (the node start `peers` list). */
  readonly members: readonly PeerSpec[];
  /** The nodes to seed here: each id (one of `members`) with its data directory. */
  readonly targets: readonly { readonly id: string; readonly dataDir: string }[];
  /** Told as each node is done. */
  readonly onSeeded?: (id: string, dataDir: string) => void;
}

/**
 * Verifies the backup, then seeds every target.
 * @throws BackupInvalidError (BACKUP_INVALID, UNSUPPORTED_VERSION); RaftbusError INVALID_ARGUMENT for a
 *   cluster id equal to the backup's, an unknown target id, or a data directory that is not empty.
 */
export async function restoreBackup(o: RestoreOptions): Promise<BackupSummary> {
  const summary = await inspectBackup(o.open());
  const h = summary.header;
  if (o.clusterId === h.clusterId) {
    throw new RaftbusError("INVALID_ARGUMENT", `the backup comes from cluster "${h.clusterId}": a restore seeds a NEW cluster, give it another cluster id (--cluster-id), so its nodes can never be mistaken for the old cluster's`);
  }
  const ids = new Set(o.members.map((m) => m.id));
  for (const t of o.targets) {
    if (!ids.has(t.id)) throw new RaftbusError("INVALID_ARGUMENT", `node ${t.id} is not in the new cluster's peer list (${[...ids].join(", ")})`);
    await requireEmpty(t.dataDir);
  }
  if (h.index < 1) throw new BackupInvalidError("it holds no applied entry (index 0)");
  const meta: SnapshotMeta = { index: h.index, term: h.term, conf: { voters: [...ids].sort(), learners: [] } };
  for (const t of o.targets) {
    try {
      await seed(o, t, meta, h.clusterVersion);
    } catch (err) {
      for (const part of PARTS) await rm(join(t.dataDir, part), { recursive: true, force: true });
      throw err;
    }
    o.onSeeded?.(t.id, t.dataDir);
  }
  return summary;
}

/** One node's directory: broker state, snapshot, Raft log, in that order (the log last: it is what makes the directory a node). */
async function seed(o: RestoreOptions, target: { id: string; dataDir: string }, meta: SnapshotMeta, clusterVersion: number): Promise<void> {
  await mkdir(target.dataDir, { recursive: true });
  const broker = await BrokerStateMachine.open(join(target.dataDir, "broker"));
  try {
    const read: BackupReadState = { header: undefined, bytes: 0, complete: false };
    // The same restore a follower runs for a leader's snapshot: it checks the stream's index against meta's.
    await broker.restore(meta, snapshotOfBackup(o.open(), read));
    if (!read.complete) throw new BackupInvalidError("the file changed between verifying and restoring it");
    // The address book names where members listen: the new cluster's, never the old one's.
    if (effectiveVersion(clusterVersion) >= MEMBER_BOOK_VERSION) {
      await broker.replaceMembers(o.members.map((m) => ({ id: m.id, host: m.host, peerPort: m.peerPort, clientPort: m.clientPort })));
    }
    const snapshots = await FileSnapshotStore.load(join(target.dataDir, "snapshots"));
    try {
      await snapshots.save(meta, broker.snapshot());
    } finally {
      await snapshots.close();
    }
  } finally {
    await broker.close();
  }
  const storage = await LevelStorage.open(join(target.dataDir, "raft"), { nodeId: target.id, clusterId: o.clusterId, bootstrap: meta.conf });
  try {
    await storage.write({ snapshot: meta, entries: [], hardState: { term: meta.term, vote: null, commit: meta.index } }, { sync: true });
  } finally {
    await storage.close();
  }
}

async function requireEmpty(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as { code?: unknown }).code === "ENOENT") return;
    throw err;
  }
  const used = names.filter((n) => (PARTS as readonly string[]).includes(n));
  if (used.length > 0) {
    throw new RaftbusError("INVALID_ARGUMENT", `${dir} already holds node data (${used.join(", ")}): restore only into an empty data directory`);
  }
}

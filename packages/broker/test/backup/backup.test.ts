/**
 * Backups in one process: a broker state streamed through BackupStreams
 * (in small pieces, as a client pulls them), read back by the verifier and
 * restored into fresh data directories, which a node then opens at the
 * backup's index with every message, offset and dead letter. A damaged,
 * truncated or foreign file is refused with BACKUP_INVALID (or
 * UNSUPPORTED_VERSION) before anything is written.
 */
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FileSnapshotStore, LevelStorage } from "@raftbus/raft";
import { BUILD_CLUSTER_VERSION, BrokerStateMachine } from "../../src/index.ts";
import { STORE_FORMAT } from "../../src/store/format.ts";
import { BackupStreams } from "../../src/backup/backup-streams.ts";
import { BACKUP_FORMAT, BACKUP_VERSION } from "../../src/backup/backup-format.ts";
import type { BackupHeader } from "../../src/backup/backup-format.ts";
import { inspectBackup } from "../../src/backup/backup-inspect.ts";
import { restoreBackup } from "../../src/backup/restore.ts";
import { encodeRecord, SNAPSHOT_VERSION } from "../../src/store/snapshot-codec.ts";
import { Harness, tempDir } from "../helpers/harness.ts";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const MEMBERS = [
  { id: "a1", host: "127.0.0.1", peerPort: 9101, clientPort: 9001 },
  { id: "a2", host: "127.0.0.1", peerPort: 9102, clientPort: 9002 },
  { id: "a3", host: "127.0.0.1", peerPort: 9103, clientPort: 9003 },
];

/** A broker with topics, a consumed and acked subscription, a dead letter and (optionally) the address book. */
async function populated(clusterVersion: number): Promise<Harness> {
  const h = await Harness.open();
  cleanup.push(() => h.destroy());
  if (clusterVersion > 1) {
    await h.ok({ type: "setClusterVersion", now: h.now, version: clusterVersion });
    await h.ok({ type: "recordMembers", now: h.now, members: [{ id: "n1", host: "10.0.0.1", peerPort: 7101, clientPort: 7001 }] });
  }
  await h.subscribe({ name: "billing", pattern: "orders" });
  await h.subscribe({ name: "jobs-worker", pattern: "jobs", maxRetries: 0 });
  for (let i = 0; i < 40; i++) await h.pub("orders", { i, pad: "x".repeat(i * 50) }, { id: `o${i}` });
  for (let i = 0; i < 3; i++) await h.pub("jobs", { job: i });
  await h.pub("big", { blob: "y".repeat(300_000) });
  const taken = await h.take("billing", 5);
  await h.ack("billing", taken.map((t) => t.split("#")[0] as string));
  const job = await h.take("jobs-worker", 1);
  await h.fail("jobs-worker", job.map((t) => t.split("#")[0] as string));
  return h;
}

/** The backup file bytes, pulled through BackupStreams `maxBytes` at a time. */
async function backupBytes(h: Harness, maxBytes: number, header: Partial<BackupHeader> = {}): Promise<Uint8Array> {
  const streams = new BackupStreams();
  const id = await streams.start("session-1", async () => {
    const source = await h.bsm.backupSource();
    return {
      header: {
        clusterId: "old", nodeId: "n1", createdAt: 1, index: source.index, term: 1, conf: { voters: ["n1"], learners: [] },
        clusterVersion: source.clusterVersion, storeFormat: STORE_FORMAT, snapshotVersion: SNAPSHOT_VERSION, ...header,
      },
      snapshot: source.chunks,
    };
  });
  // Writes after the backup started are not in it.
  await h.pub("orders", { late: true }, { id: "late" });
  const pieces: Uint8Array[] = [];
  for (;;) {
    const piece = await streams.read("session-1", id, maxBytes);
    expect(piece.data.byteLength).toBeLessThanOrEqual(maxBytes);
    pieces.push(Uint8Array.from(piece.data));
    if (piece.done) break;
  }
  expect(streams.size).toBe(0);
  return Buffer.concat(pieces);
}

async function* chunksOf(bytes: Uint8Array, size = 7919): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += size) yield bytes.subarray(at, at + size);
}

async function restoredDirs(): Promise<string> {
  const root = await tempDir("raftbus-restore-");
  cleanup.push(() => rm(root, { recursive: true, force: true }));
  return root;
}

describe("backup: streamed, verified, restored", () => {
  it("holds the state at the index it was opened at, whatever the piece size, and says what is in it", async () => {
    const h = await populated(1);
    const indexAtOpen = h.index;
    const file = await backupBytes(h, 4096);
    const summary = await inspectBackup(chunksOf(file));
    expect(summary.header).toMatchObject({ clusterId: "old", index: indexAtOpen, nodeId: "n1" });
    expect(summary.bytes).toBe(file.byteLength);
    expect(summary.topics.map((t) => [t.name, t.messages, t.nextOffset, t.dlq])).toEqual([["big", 1, 1, 0], ["jobs", 3, 3, 1], ["orders", 40, 40, 0]]);
    expect(summary.subscriptions).toBe(2);
    expect(summary.messages).toBe(44);
    // Another piece size gives the same bytes (only the createdAt of the header could differ, and it is fixed here).
    const again = await populated(1);
    expect(Buffer.compare(Buffer.from(await backupBytes(again, 1024 * 1024)), Buffer.from(file))).toBe(0);
  });

  it("restores into new data directories that open at the backup's index with every message, offset and dead letter", async () => {
    const h = await populated(1);
    const file = await backupBytes(h, 65_536);
    const digestAtBackup = (await inspectBackup(chunksOf(file))).header.index;
    const root = await restoredDirs();
    const targets = MEMBERS.map((m) => ({ id: m.id, dataDir: join(root, m.id) }));
    const seeded: string[] = [];
    await restoreBackup({ open: () => chunksOf(file), clusterId: "new", members: MEMBERS, targets, onSeeded: (id) => seeded.push(id) });
    expect(seeded).toEqual(["a1", "a2", "a3"]);

    const digests: string[] = [];
    for (const t of targets) {
      const storage = await LevelStorage.open(join(t.dataDir, "raft"), { nodeId: t.id, clusterId: "new" });
      expect(storage.snapshot()).toEqual({ index: digestAtBackup, term: 1, conf: { voters: ["a1", "a2", "a3"], learners: [] } });
      expect(storage.getHardState()).toEqual({ term: 1, vote: null, commit: digestAtBackup });
      await storage.close();
      const snapshots = await FileSnapshotStore.load(join(t.dataDir, "snapshots"));
      expect(snapshots.latest()?.index).toBe(digestAtBackup);
      await snapshots.close();
      const restored = await BrokerStateMachine.open(join(t.dataDir, "broker"));
      expect(restored.appliedIndex()).toBe(digestAtBackup);
      expect((await restored.readMessages("orders", 0, 1000)).map((m) => m.id)).toEqual(Array.from({ length: 40 }, (_, i) => `o${i}`));
      expect((await restored.subscriptionInfo("billing")).acked).toBe(5);
      expect((await restored.dlqList("jobs")).map((d) => d.message.offset)).toEqual([0]);
      digests.push(await restored.digest());
      await restored.close();
    }
    // Cluster version 1 keeps no address book: the restored state is the source's, byte for byte.
    const source = await populated(1);
    expect(new Set(digests)).toEqual(new Set([await source.bsm.digest()]));
  });

  it("replaces the address book with the new cluster's members (cluster version ≥ 2), and keeps the users", async () => {
    const h = await populated(BUILD_CLUSTER_VERSION);
    await h.ok({ type: "putUser", now: h.now, name: "alice", create: true, tokenHash: new Uint8Array(32).fill(7), grants: ["pub:orders"] });
    const file = await backupBytes(h, 100_000);
    const summary = await inspectBackup(chunksOf(file));
    expect(summary.members.map((m) => m.id)).toEqual(["n1"]);
    expect(summary.users).toBe(1);
    const root = await restoredDirs();
    await restoreBackup({ open: () => chunksOf(file), clusterId: "new", members: MEMBERS, targets: [{ id: "a2", dataDir: root }] });
    const restored = await BrokerStateMachine.open(join(root, "broker"));
    expect([...restored.members().values()]).toEqual(MEMBERS);
    expect(restored.clusterVersion()).toBe(BUILD_CLUSTER_VERSION);
    await restored.close();
  });
});

describe("backup: refused files and targets", () => {
  it("any damaged byte, a cut, or bytes added are refused with BACKUP_INVALID before anything is written", async () => {
    const h = await populated(1);
    const file = await backupBytes(h, 1 << 20);
    const root = await restoredDirs();
    // Positions in the header, in the pairs, in the snapshot's trailer, in the backup trailer.
    for (const at of [10, 200, Math.floor(file.byteLength / 2), file.byteLength - 120, file.byteLength - 3]) {
      const bad = Uint8Array.from(file);
      bad[at] = (bad[at] as number) ^ 0x20;
      await expect(inspectBackup(chunksOf(bad)), `flip at ${at}`).rejects.toMatchObject({ code: "BACKUP_INVALID" });
      await expect(restoreBackup({ open: () => chunksOf(bad), clusterId: "new", members: MEMBERS, targets: [{ id: "a1", dataDir: root }] }))
        .rejects.toMatchObject({ code: "BACKUP_INVALID" });
      expect(await readdir(root)).toEqual([]);
    }
    await expect(inspectBackup(chunksOf(file.subarray(0, file.byteLength - 1)))).rejects.toMatchObject({ code: "BACKUP_INVALID", message: /truncated|ends inside/ });
    await expect(inspectBackup(chunksOf(Buffer.concat([file, encodeRecord({ more: 1 })])))).rejects.toMatchObject({ code: "BACKUP_INVALID", message: /after the trailer/ });
    await expect(inspectBackup(chunksOf(new Uint8Array(0)))).rejects.toMatchObject({ code: "BACKUP_INVALID", message: /empty/ });
    await expect(inspectBackup(chunksOf(new TextEncoder().encode("{\"not\":\"a backup\"}")))).rejects.toMatchObject({ code: "BACKUP_INVALID" });
  });

  it("a newer backup format or store format is UNSUPPORTED_VERSION", async () => {
    const newer = encodeRecord({ format: BACKUP_FORMAT, version: BACKUP_VERSION + 1 });
    await expect(inspectBackup(chunksOf(newer))).rejects.toMatchObject({ code: "UNSUPPORTED_VERSION", message: /use a newer raftbus/ });
    const h = await populated(1);
    const file = await backupBytes(h, 1 << 20, { storeFormat: STORE_FORMAT + 1 });
    await expect(inspectBackup(chunksOf(file))).rejects.toMatchObject({ code: "UNSUPPORTED_VERSION" });
  });

  it("the backup's own cluster id, a data directory in use, or a node outside --peers is INVALID_ARGUMENT", async () => {
    const h = await populated(1);
    const file = await backupBytes(h, 1 << 20);
    const root = await restoredDirs();
    const open = () => chunksOf(file);
    await expect(restoreBackup({ open, clusterId: "old", members: MEMBERS, targets: [{ id: "a1", dataDir: root }] }))
      .rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: /NEW cluster/ });
    await expect(restoreBackup({ open, clusterId: "new", members: MEMBERS, targets: [{ id: "zz", dataDir: root }] }))
      .rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: /not in the new cluster's peer list/ });
    await mkdir(join(root, "broker"));
    await writeFile(join(root, "broker", "CURRENT"), "1");
    await expect(restoreBackup({ open, clusterId: "new", members: MEMBERS, targets: [{ id: "a1", dataDir: root }] }))
      .rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: /already holds node data/ });
  });
});

describe("backup streams: limits", () => {
  it("at most two open per node; a closed or finished backup is BACKUP_NOT_FOUND; another connection cannot read it", async () => {
    const h = await populated(1);
    const streams = new BackupStreams();
    const start = async () => {
      const source = await h.bsm.backupSource();
      return {
        header: { clusterId: "c", nodeId: "n1", createdAt: 1, index: source.index, term: 1, conf: { voters: [], learners: [] }, clusterVersion: 1, storeFormat: STORE_FORMAT, snapshotVersion: SNAPSHOT_VERSION },
        snapshot: source.chunks,
      };
    };
    const a = await streams.start("s1", start);
    const b = await streams.start("s2", start);
    await expect(streams.start("s3", start)).rejects.toMatchObject({ code: "LIMIT_EXCEEDED", details: { limit: "backupsOpenMax", max: 2 } });
    await expect(streams.read("s1", b)).rejects.toMatchObject({ code: "BACKUP_NOT_FOUND" });
    await streams.close("s1", a);
    await expect(streams.read("s1", a)).rejects.toMatchObject({ code: "BACKUP_NOT_FOUND" });
    await streams.closeOwner("s2");
    expect(streams.size).toBe(0);
    // The pinned LevelDB snapshots were released: the broker closes without waiting on them.
    await h.bsm.close();
    h.bsm = await BrokerStateMachine.open(h.dir);
  });

  it("a backup nobody reads for a minute is closed, and its slot freed", async () => {
    const h = await populated(1);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const streams = new BackupStreams({ openMax: 1, idleMs: 60_000 });
      const start = async () => {
        const source = await h.bsm.backupSource();
        return {
          header: { clusterId: "c", nodeId: "n1", createdAt: 1, index: source.index, term: 1, conf: { voters: [], learners: [] }, clusterVersion: 1, storeFormat: STORE_FORMAT, snapshotVersion: SNAPSHOT_VERSION },
          snapshot: source.chunks,
        };
      };
      const id = await streams.start("s1", start);
      expect((await streams.read("s1", id, 1000)).done).toBe(false);
      // A read restarts the minute: just short of it, the backup is still there.
      vi.advanceTimersByTime(59_999);
      expect((await streams.read("s1", id, 1000)).data.byteLength).toBe(1000);
      vi.advanceTimersByTime(60_000);
      await expect(streams.read("s1", id)).rejects.toMatchObject({ code: "BACKUP_NOT_FOUND" });
      expect(streams.size).toBe(0);
      await streams.close("s1", await streams.start("s1", start));
    } finally {
      vi.useRealTimers();
    }
  });
});

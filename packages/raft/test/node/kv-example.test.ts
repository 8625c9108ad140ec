/**
 * The example key-value node in-process: its flags, the mapping of
 * start-up failures to exit codes, the snapshot-sink counters and the HTTP
 * API (status codes and stable error codes) over three RaftNodes on the
 * in-memory transport. The process-level tests (test/process) run the same
 * code as real processes.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createKvHttpServer, toHttpError } from "../../src/example/kv-http.ts";
import { EXIT, startupFailure } from "../../src/example/kv-node-app.ts";
import { KvUsageError, parseKvNodeArgs } from "../../src/example/kv-node-config.ts";
import type { KvResult } from "../../src/example/kv-state-machine.ts";
import { KvStateMachine } from "../../src/example/kv-state-machine.ts";
import { countingSnapshotSink } from "../../src/node/counting-snapshot-sink.ts";
import { silentLogger } from "../../src/logging.ts";
import { RaftError } from "../../src/node/errors.ts";
import { RaftNode } from "../../src/node/raft-node.ts";
import { snapshotSinkFor, snapshotSourceFor } from "../../src/node/snapshot-wiring.ts";
import { StorageCorruptError, StorageIoError, StorageWrongNodeError } from "../../src/storage/errors.ts";
import { MemorySnapshotStore } from "../../src/storage/snapshot-store-memory.ts";
import { MemoryNetwork } from "../../src/transport/memory-transport.ts";
import { MemoryAdapter } from "../storage/helpers.ts";

const PEERS = "n1=127.0.0.1:7101,n2=127.0.0.1:7102,n3=127.0.0.1:7103";
const SECRET = "0123456789abcdef";

describe("kv-node flags", () => {
  const parse = (...args: string[]) => parseKvNodeArgs(args, {});

  it("parses a full command line and fills defaults", () => {
    const cfg = parse("--id", "n2", "--data", "/d", "--peers", PEERS, "--secret", SECRET, "--tick-ms", "20", "--snapshot-entries", "50");
    expect(cfg).toMatchObject({ id: "n2", dataDir: "/d", peerPort: 7102, httpPort: 0, tickMs: 20, electionTicks: 10, snapshotEntries: 50 });
    expect([...cfg.peers.keys()]).toEqual(["n1", "n2", "n3"]);
  });

  it("takes the secret from RAFTBUS_SECRET", () => {
    expect(parseKvNodeArgs(["--id", "n1", "--data", "/d", "--peers", PEERS], { RAFTBUS_SECRET: SECRET }).secret).toBe(SECRET);
  });

  it.each([
    [["--data", "/d", "--peers", PEERS, "--secret", SECRET], /--id is required/],
    [["--id", "n4", "--data", "/d", "--peers", PEERS, "--secret", SECRET], /--peers must include this node \(n4\)/],
    [["--id", "n1", "--data", "/d", "--peers", PEERS], /secret of at least 16 bytes/],
    [["--id", "n1", "--data", "/d", "--peers", PEERS, "--secret", SECRET, "--peer-port", "9999"], /disagrees with --peers/],
    [["--id", "n1", "--data", "/d", "--peers", "n1=localhost", "--secret", SECRET], /is not ID=HOST:PORT/],
    [["--id", "n1", "--data", "/d", "--peers", PEERS, "--secret", SECRET, "--heartbeat-ticks", "10"], /must be below --election-ticks/],
    [["--id", "n1", "--data", "/d", "--peers", PEERS, "--secret", SECRET, "--tick-ms", "fast"], /--tick-ms must be an integer/],
    [["--id", "n1", "--data", "/d", "--peers", PEERS, "--secret", SECRET, "--colour", "blue"], /colour/],
  ])("refuses a bad command line with a message naming the flag (%j)", (args, message) => {
    expect(() => parse(...args)).toThrow(KvUsageError);
    expect(() => parse(...args)).toThrow(message);
  });
});

describe("kv-node start-up failures", () => {
  it("map to stable exit codes with the storage error's code in the message", () => {
    expect(startupFailure(new StorageWrongNodeError("/d", "node", "n1", "n2"))).toMatchObject({ code: EXIT.wrongNode, message: expect.stringMatching(/^STORAGE_WRONG_NODE: /) });
    expect(startupFailure(new StorageCorruptError("log[3]", "checksum mismatch"))).toMatchObject({ code: EXIT.corrupt, message: "STORAGE_CORRUPT: corrupt storage at log[3]: checksum mismatch" });
    expect(startupFailure(new StorageIoError("opening LevelDB", new Error("lock held")))).toMatchObject({ code: EXIT.storage });
    expect(startupFailure(Object.assign(new Error("listen EADDRINUSE"), { code: "EADDRINUSE" }))).toMatchObject({ code: EXIT.bind });
    expect(startupFailure(new Error("boom")).code).toBe(EXIT.crashed);
  });
});

describe("counting snapshot sink", () => {
  it("counts transfers, chunks and bytes through to the store", async () => {
    const store = new MemorySnapshotStore();
    const { sink, counters } = countingSnapshotSink(snapshotSinkFor(store));
    const meta = { index: 5, term: 1, conf: { voters: ["n1"], learners: [] } };
    const w = await sink.begin(meta, "n1");
    for (let i = 0; i < 3; i++) await w.write(new Uint8Array(10).fill(i));
    await w.commit();
    expect(counters).toMatchObject({ begun: 1, chunksWritten: 3, bytesWritten: 30, committed: 1, aborted: 0, lastCommittedIndex: 5 });
    expect(store.latest()?.index).toBe(5);
  });
});

describe("HTTP error mapping", () => {
  it.each([
    [new RaftError("NOT_LEADER", "x", "n2"), 421, "NOT_LEADER"],
    [new RaftError("PROPOSAL_DROPPED", "x"), 503, "PROPOSAL_DROPPED"],
    [new RaftError("TIMEOUT", "x"), 503, "TIMEOUT"],
    [new RaftError("SHUTTING_DOWN", "x"), 503, "SHUTTING_DOWN"],
    [new Error("bug"), 500, "INTERNAL"],
  ])("%s → %i %s", (err, status, code) => {
    expect(toHttpError(err)).toMatchObject({ status, code });
  });

  it("NOT_LEADER carries the leader hint", () => {
    expect(toHttpError(new RaftError("NOT_LEADER", "x", "n2")).extra).toEqual({ leaderHint: "n2" });
  });
});

interface ApiNode {
  readonly node: RaftNode<KvResult | undefined>;
  readonly http: Server;
  readonly port: number;
}

let api: ApiNode[] = [];

afterEach(async () => {
  for (const a of api) {
    await a.node.stop();
    await new Promise<void>((resolve) => {
      a.http.close(() => resolve());
      a.http.closeAllConnections();
    });
  }
  api = [];
});

async function startApiCluster(): Promise<ApiNode[]> {
  const ids = ["a", "b", "c"];
  const net = new MemoryNetwork();
  const quiet = silentLogger();
  for (const id of ids) {
    const storage = MemoryAdapter.fresh({ voters: ids, learners: [] });
    const snapshots = new MemorySnapshotStore();
    const transport = net.createTransport(id, { snapshotSource: snapshotSourceFor(snapshots), snapshotSink: snapshotSinkFor(snapshots) });
    transport.setPeers(new Map(ids.map((p) => [p, p])));
    const kv = new KvStateMachine();
    const node = new RaftNode<KvResult | undefined>({ id, storage, snapshots, transport, stateMachine: kv, tickMs: 5 });
    const http = createKvHttpServer({ node, kv, status: () => ({ ...node.status(), stats: node.stats }), snapshotIndex: () => storage.snapshot().index, logger: quiet });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", () => resolve()));
    api.push({ node, http, port: (http.address() as AddressInfo).port });
  }
  await Promise.all(api.map((a) => a.node.start()));
  return api;
}

async function call(a: ApiNode, method: string, path: string, body?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${a.port}${path}`, { method, body, signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function leaderOf(nodes: readonly ApiNode[]): Promise<ApiNode> {
  for (let i = 0; i < 1_000; i++) {
    const l = nodes.find((n) => n.node.isLeader());
    if (l !== undefined) return l;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error("no leader within 5 s");
}

describe("kv HTTP API over three in-memory nodes", () => {
  it("writes, reads, batches, snapshots and answers failures with stable codes", async () => {
    const nodes = await startApiCluster();
    const leader = await leaderOf(nodes);
    const follower = nodes.find((n) => n !== leader)!;

    const put = await call(leader, "PUT", "/kv/a%20key", "one");
    expect(put.status).toBe(200);
    expect(put.body["index"]).toEqual(expect.any(Number));
    expect(await call(leader, "GET", "/kv/a%20key?linearizable=1")).toMatchObject({ status: 200, body: { value: "one" } });

    expect(await call(follower, "PUT", "/kv/x", "1")).toMatchObject({ status: 421, body: { code: "NOT_LEADER", leaderHint: leader.node.id } });
    expect(await call(follower, "GET", "/kv/x?linearizable=1")).toMatchObject({ status: 421, body: { code: "NOT_LEADER" } });
    expect(await call(leader, "GET", "/kv/missing")).toMatchObject({ status: 404, body: { code: "KEY_NOT_FOUND" } });

    const batch = await call(leader, "POST", "/kv-batch", JSON.stringify({ entries: [["b1", "x"], ["b2", "y"]] }));
    expect(batch.status).toBe(200);
    const [r1, r2] = batch.body["results"] as { index: number }[];
    expect(r2!.index).toBe(r1!.index + 1);
    expect(await call(follower, "POST", "/kv-batch", JSON.stringify({ entries: [["b3", "z"]] }))).toMatchObject({ status: 421 });
    expect(await call(leader, "POST", "/kv-batch", JSON.stringify({ entries: [["ok", 1]] }))).toMatchObject({ status: 400, body: { code: "BAD_REQUEST" } });
    expect(await call(leader, "POST", "/kv-batch", "not json")).toMatchObject({ status: 400, body: { code: "BAD_REQUEST" } });
    expect(await call(leader, "PUT", "/kv/big", "x".repeat(1024 * 1024 + 1))).toMatchObject({ status: 413, body: { code: "PAYLOAD_TOO_LARGE" } });
    expect(await call(leader, "PUT", `/kv/${"k".repeat(257)}`, "v")).toMatchObject({ status: 400, body: { code: "BAD_REQUEST" } });
    expect(await call(leader, "GET", "/nope")).toMatchObject({ status: 404, body: { code: "NOT_FOUND" } });
    expect(await call(leader, "DELETE", "/kv/x")).toMatchObject({ status: 405, body: { code: "METHOD_NOT_ALLOWED" } });

    const snap = await call(leader, "POST", "/snapshot");
    expect(snap.status).toBe(200);
    expect(snap.body["snapshotIndex"]).toBeGreaterThan(0);
    const status = await call(leader, "GET", "/status");
    expect(status.body).toMatchObject({ role: "leader", stats: { snapshotsTaken: 1 } });
    const dump = await call(leader, "GET", "/kv");
    expect(dump.body["pairs"]).toEqual([["a key", "one"], ["b1", "x"], ["b2", "y"]]);
  });
});

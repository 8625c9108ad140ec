/**
 * Hostile input against running nodes (issue 13 item 8), generated from a
 * seed that the test names print (replay with RAFTBUS_FUZZ_SEED=<seed>).
 * Every run sends 10,000 client and 2,000 peer frames
 * (RAFTBUS_FUZZ_CLIENT_FRAMES / RAFTBUS_FUZZ_PEER_FRAMES set any count;
 * `pnpm fuzz` runs this file alone).
 *
 * Client frames: random bytes, text frames, valid frames truncated or with
 * bytes flipped, wrong-shaped msgpack, huge declared lengths, deep nesting,
 * frames before hello, and well-formed requests with hostile contents (deep
 * JSON payloads under filter subscriptions, junk patterns and filters).
 *
 * Peer frames: without the cluster secret, junk and forged handshakes; with
 * it (the test completes the real HMAC handshake as a member), junk in the
 * authenticated frame layer and replayed, reordered, stale-term Raft
 * messages. Forged current-term messages from an authenticated peer are out
 * of scope: the secret makes a peer trusted, and Raft does not tolerate a
 * Byzantine member.
 *
 * Afterwards every node is alive and serving, its memory grew by a bounded
 * amount, the data committed before the fuzz is unchanged on every node, and
 * the cluster still commits.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { connect } from "@raftbus/client/node";
import type { RaftbusClient } from "@raftbus/client/node";
import { PROTOCOL_VERSION, encodeFrame } from "@raftbus/client/protocol";
import { encodeFrame as encodePeerFrame, decodePacket } from "../../packages/raft/src/transport/codec.ts";
import { computeAuth, makeNonce } from "../../packages/raft/src/transport/handshake.ts";
import type { TestNode } from "../support/local-cluster.ts";
import { LocalCluster, waitFor } from "../support/local-cluster.ts";
import { RawClient } from "../support/raw-client.ts";

const SEED = process.env["RAFTBUS_FUZZ_SEED"] === undefined ? Date.now() % 2 ** 31 : Number(process.env["RAFTBUS_FUZZ_SEED"]);
const CLIENT_FRAMES = Number(process.env["RAFTBUS_FUZZ_CLIENT_FRAMES"] ?? 10_000);
const PEER_FRAMES = Number(process.env["RAFTBUS_FUZZ_PEER_FRAMES"] ?? 2_000);
const SECRET = "fuzz-cluster-secret-0123456789";
const CLUSTER_ID = "raftbus";
/** Memory a node may gain over the whole fuzz (bounded queues, not a leak per frame). */
const RSS_GROWTH_MAX = 200 * 1024 * 1024;

let cluster: LocalCluster;
let sdk: RaftbusClient;
const seedTopic = `seed.data.${SEED}`;
const seeded: string[] = [];

beforeAll(async () => {
  cluster = await LocalCluster.start({ extraArgs: ["--cluster-secret", SECRET] });
  sdk = await connect({ servers: cluster.servers(), name: "fuzz-checker" });
  for (let i = 0; i < 30; i++) {
    const text = `seeded message ${i} of run ${SEED}`;
    await sdk.publish(seedTopic, text);
    seeded.push(text);
  }
  await sdk.subscribe("fuzz.filtered.**", { name: "fuzz-filter-sub", filter: "payload.a.b == 1 || level > 3" }).then((s) => s.unsubscribe());
  // A term above 1, so stale-term peer messages exist.
  const leader = await cluster.leader();
  await sdk.cluster.transferLeader(cluster.nodes.find((n) => n !== leader)!.id);
  await waitFor("a new leader", async () => ((await cluster.status(await cluster.leader()))?.term ?? 0) >= 2 ? true : undefined, 30_000);
}, 120_000);

afterAll(async () => {
  await sdk?.close();
  await cluster?.destroy();
});

// ------------------------------------------------------------ generators

const VALID_REQUESTS: readonly object[] = [
  { t: "req", id: 1, kind: "publish", body: { messages: [{ topic: "fuzz.a", payload: new Uint8Array([1, 2, 3]) }] } },
  { t: "req", id: 2, kind: "subscribe", body: { pattern: "fuzz.**" } },
  { t: "req", id: 3, kind: "topic.list", body: {} },
  { t: "req", id: 4, kind: "subscription.list", body: {} },
  { t: "req", id: 5, kind: "ack", body: { subscriptionId: "x", messages: [{ topic: "fuzz.a", offset: 0 }] } },
  { t: "req", id: 6, kind: "credit", body: { subscriptionId: "x", credit: 5 } },
  { t: "req", id: 7, kind: "ping", body: {} },
  { t: "req", id: 8, kind: "topic.info", body: { topic: "fuzz.a" } },
  { t: "hello", version: PROTOCOL_VERSION, clientId: "fuzz", name: "again" },
];

/** msgpack headers that declare far more data than follows. */
const HUGE_HEADERS: readonly number[][] = [
  [0xdb, 0xff, 0xff, 0xff, 0xff], // str32 of 4 GiB
  [0xc6, 0x7f, 0xff, 0xff, 0xff], // bin32 of 2 GiB
  [0xdd, 0xff, 0xff, 0xff, 0xff], // array32 of 4 G elements
  [0xdf, 0xff, 0xff, 0xff, 0xff], // map32 of 4 G pairs
  [0xc9, 0x7f, 0xff, 0xff, 0xff, 0x01], // ext32
];

function truncate(bytes: Uint8Array, at: number): Uint8Array {
  return bytes.subarray(0, Math.min(at, Math.max(0, bytes.length - 1)));
}

function flip(bytes: Uint8Array, at: number, mask: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  if (out.length > 0) out[at % out.length]! ^= mask || 1;
  return out;
}

/** A request frame whose body is the given raw msgpack bytes. */
function requestWithRawBody(kind: string, body: Uint8Array): Uint8Array {
  const prefix = encodeFrame({ t: "req", id: 9, kind, body: null } as never);
  // The encoded map ends with `body: nil` (0xc0): swap the nil for the raw body.
  return Uint8Array.from([...prefix.subarray(0, prefix.length - 1), ...body]);
}

function deepJson(depth: number): string {
  return `${"[".repeat(depth)}1${"]".repeat(depth)}`;
}

/** One hostile client frame (bytes, or a string for a text frame). */
const clientFrame: fc.Arbitrary<Uint8Array | string> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.string({ maxLength: 100 }),
  fc.tuple(fc.constantFrom(...VALID_REQUESTS), fc.nat()).map(([f, at]) => truncate(encodeFrame(f as never), at)),
  fc.tuple(fc.constantFrom(...VALID_REQUESTS), fc.nat(), fc.nat(255)).map(([f, at, m]) => flip(encodeFrame(f as never), at, m)),
  fc.anything({ maxDepth: 4 }).map((v) => encodeFrame(v as never)),
  fc.record({ t: fc.constantFrom("req", "hello", "res", "deliver", "x"), id: fc.oneof(fc.integer(), fc.double(), fc.string()), kind: fc.oneof(fc.constantFrom("publish", "subscribe", "ack", "topic.create", "dlq.purge"), fc.string()), body: fc.anything({ maxDepth: 3 }) })
    .map((v) => encodeFrame(v as never)),
  fc.tuple(fc.constantFrom("publish", "subscribe", "topic.create", "ack"), fc.constantFrom(...HUGE_HEADERS)).map(([kind, h]) => requestWithRawBody(kind, Uint8Array.from(h))),
  fc.integer({ min: 100, max: 200_000 }).map((depth) => Uint8Array.from([...new Array<number>(depth).fill(0x91), 0xc0])),
  fc.integer({ min: 100, max: 20_000 }).map((depth) => encodeFrame({ t: "req", id: 10, kind: "publish", body: { messages: [{ topic: "fuzz.filtered.deep", payload: new TextEncoder().encode(deepJson(depth)) }] } } as never)),
  fc.record({ pattern: fc.oneof(fc.string(), fc.string().map((s) => `/${s}/`)), filter: fc.string({ maxLength: 40 }) })
    .map((b) => encodeFrame({ t: "req", id: 11, kind: "subscribe", body: b } as never)),
);

/** One hostile frame for the peer port before authentication. */
function preAuthFrame(): fc.Arbitrary<Uint8Array | string> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.string({ maxLength: 50 }),
    fc.anything({ maxDepth: 3 }).map((v) => encodeFrame(v as never)),
    fc.record({ nodeId: fc.constantFrom("n1", "n2", "mallory", ""), to: fc.constantFrom("n1", "n2", "n3", "x"), auth: fc.uint8Array({ minLength: 32, maxLength: 32 }), nonce: fc.uint8Array({ minLength: 16, maxLength: 64 }) })
      .map((h) => encodePeerFrame({ v: 1, kind: "hello", clusterId: CLUSTER_ID, ...h } as never)), // wrong MAC
    fc.tuple(fc.nat(), fc.nat(255)).map(([at, m]) => flip(encodePeerFrame({ v: 1, kind: "challenge", nonce: new Uint8Array(32) }), at, m)),
    fc.constantFrom(...HUGE_HEADERS).map((h) => Uint8Array.from(h)),
    fc.integer({ min: 100, max: 200_000 }).map((depth) => Uint8Array.from([...new Array<number>(depth).fill(0x91), 0xc0])),
  );
}

/** Raft message kinds a replay may carry (stale terms: the receiver must ignore them). */
function staleRaftMessage(from: string, to: string, termBelow: number): fc.Arbitrary<object> {
  const term = fc.integer({ min: 1, max: Math.max(1, termBelow - 1) });
  const idx = fc.nat(1000);
  return fc.oneof(
    fc.record({ term, prevIndex: idx, prevTerm: term, commit: idx }).map((m) => ({ ...m, type: "app", entries: [] })),
    fc.record({ term, index: idx, hintIndex: idx, hintTerm: term, reject: fc.boolean() }).map((m) => ({ ...m, type: "appResp" })),
    fc.record({ term, lastIndex: idx, lastTerm: term, transfer: fc.boolean(), type: fc.constantFrom("vote", "preVote") }),
    fc.record({ term, reject: fc.boolean(), type: fc.constantFrom("voteResp", "preVoteResp") }),
    fc.record({ term, commit: idx, readSeq: idx }).map((m) => ({ ...m, type: "heartbeat" })),
    fc.record({ term, readSeq: idx }).map((m) => ({ ...m, type: "heartbeatResp" })),
  ).map((m) => ({ from, to, ...m }));
}

/** One frame on an authenticated peer connection: junk, or a replayed stale Raft message. */
function authFrame(from: string, to: string, termBelow: number): fc.Arbitrary<Uint8Array | string> {
  const raft = staleRaftMessage(from, to, termBelow).map((msg) => encodePeerFrame({ v: 1, kind: "raft", msg } as never));
  return fc.oneof(
    raft,
    raft.map((f) => Uint8Array.from([...f, ...f, ...f])), // replayed back to back in one packet
    fc.tuple(raft, fc.nat()).map(([f, at]) => truncate(f, at)),
    fc.tuple(raft, fc.nat(), fc.nat(255)).map(([f, at, m]) => flip(f, at, m)),
    fc.uint8Array({ maxLength: 200 }),
    fc.anything({ maxDepth: 3 }).map((v) => encodePeerFrame(v as never)),
    fc.record({ v: fc.constant(1), kind: fc.constantFrom("snapChunk", "snapAck", "snapOffer", "hello"), index: fc.integer(), offset: fc.integer(), data: fc.uint8Array({ maxLength: 64 }) })
      .map((f) => encodePeerFrame(f as never)),
    fc.constantFrom(...HUGE_HEADERS).map((h) => Uint8Array.from(h)),
  );
}

// ------------------------------------------------------------ sending

async function open(url: string): Promise<WebSocket | undefined> {
  const ws = new WebSocket(url);
  ws.on("error", () => undefined);
  const ok = await new Promise<boolean>((resolve) => {
    ws.once("open", () => resolve(true));
    ws.once("close", () => resolve(false));
    setTimeout(() => resolve(false), 5000);
  });
  return ok ? ws : undefined;
}

/** Sends `frames` on `ws`, then closes it and waits (at most `closeWaitMs`) for the close. Returns how many were sent. */
async function sendAll(ws: WebSocket, frames: readonly (Uint8Array | string)[], closeWaitMs = 2000): Promise<number> {
  let sent = 0;
  for (const f of frames) {
    if (ws.readyState !== WebSocket.OPEN) break;
    ws.send(f, { binary: typeof f !== "string" });
    sent++;
  }
  const closed = new Promise<void>((r) => (ws.readyState === WebSocket.CLOSED ? r() : ws.once("close", () => r())));
  ws.close();
  await Promise.race([closed, new Promise((r) => setTimeout(r, closeWaitMs))]);
  ws.terminate();
  return sent;
}

/**
 * Completes the peer handshake as `from` towards `to`; undefined when refused.
 * The message listener is attached before the socket opens: the acceptor's
 * challenge can arrive in the same read as the upgrade answer, and a listener
 * attached after "open" would miss it.
 */
async function peerHandshake(node: TestNode, from: string, to: string): Promise<WebSocket | undefined> {
  const ws = new WebSocket(`ws://127.0.0.1:${node.peerPort}/`);
  ws.on("error", () => undefined);
  const nonce = makeNonce();
  const ok = await new Promise<boolean>((resolve) => {
    ws.on("message", (data: Buffer) => {
      const [f] = decodePacket(data);
      if (f?.kind === "challenge") {
        ws.send(encodePeerFrame({
          v: 1, kind: "hello", nodeId: from, clusterId: CLUSTER_ID, to, nonce,
          auth: computeAuth(SECRET, { role: "dial", clusterId: CLUSTER_ID, from, to, peerNonce: f.nonce, ownNonce: nonce }),
        }));
      } else if (f?.kind === "hello") {
        ws.removeAllListeners("message");
        resolve(true);
      }
    });
    ws.once("close", () => resolve(false));
    setTimeout(() => resolve(false), 5000);
  });
  if (!ok) ws.terminate();
  return ok ? ws : undefined;
}

/** Runs `jobs` with at most `parallel` at once; returns their results. */
async function pool<T>(jobs: readonly (() => Promise<T>)[], parallel: number): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all([...Array(parallel).keys()].map(async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  }));
  return out;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// ------------------------------------------------------------ the run

interface Snapshot {
  readonly info: unknown;
  readonly rss: number[];
}

async function seedTopicOn(node: TestNode): Promise<unknown> {
  const { client } = await RawClient.connect(`ws://127.0.0.1:${node.clientPort}`);
  try {
    // Stale: this node's own applied state, which is what must be unchanged.
    const r = await client.request("topic.info", { topic: seedTopic, consistency: "stale" }) as unknown as { ok: boolean; body: { messages: number; bytes: number; firstOffset: number; lastOffset: number } };
    const { messages, bytes, firstOffset, lastOffset } = r.body;
    return { ok: r.ok, messages, bytes, firstOffset, lastOffset };
  } finally {
    client.close();
  }
}

async function snapshot(): Promise<Snapshot> {
  return { info: await seedTopicOn(cluster.nodes[0]!), rss: cluster.nodes.map((n) => cluster.rssBytes(n) ?? 0) };
}

describe(`hostile input against running nodes (seed ${SEED}; replay with RAFTBUS_FUZZ_SEED=${SEED})`, () => {
  let before: Snapshot;
  let clientFramesSent = 0;
  let peerFramesSent = 0;

  it(`${CLIENT_FRAMES} generated client frames: each node answers or closes, none crashes`, async () => {
    before = await snapshot();
    const frames = fc.sample(clientFrame, { seed: SEED, numRuns: CLIENT_FRAMES });
    // Connections of 20 frames (a node closes one after 16 malformed frames);
    // one in twenty never says hello.
    const jobs = chunks(frames, 20).map((batch, i) => async () => {
      const node = cluster.nodes[i % cluster.nodes.length]!;
      const ws = await open(`ws://127.0.0.1:${node.clientPort}`);
      if (ws === undefined) return 0;
      const hello = i % 20 === 0 ? [] : [encodeFrame({ t: "hello", version: PROTOCOL_VERSION, clientId: `fuzz-${SEED}-${i}`, name: "fuzz" })];
      return (await sendAll(ws, [...hello, ...batch])) - hello.length;
    });
    clientFramesSent = (await pool(jobs, 24)).reduce((a, b) => a + Math.max(0, b), 0);
    for (const n of cluster.nodes) expect(n.exitCode, `${n.id} exited: ${cluster.log(n).slice(-2000)}`).toBeNull();
    expect(clientFramesSent).toBeGreaterThanOrEqual(CLIENT_FRAMES * 0.95);
  }, 300_000);

  it(`${PEER_FRAMES} generated peer frames, with and without the cluster secret: none crashes`, async () => {
    const term = (await cluster.status(await cluster.leader()))!.term;
    const pre = fc.sample(preAuthFrame(), { seed: SEED + 1, numRuns: PEER_FRAMES / 2 });
    // Connections dialled as a member the target accepts from (ids sort: n1 dials n2 and n3, n2 dials n3).
    const pairs = [["n1", "n2"], ["n1", "n3"], ["n2", "n3"]] as const;
    const preJobs = pre.map((frame, i) => async () => {
      const node = cluster.nodes[i % 3]!;
      const ws = await open(`ws://127.0.0.1:${node.peerPort}/`);
      return ws === undefined ? 0 : sendAll(ws, [frame], 300);
    });
    const authJobs = chunks(fc.sample(fc.integer({ min: 0, max: 2 }).chain((p) => fc.tuple(fc.constant(p), authFrame(pairs[p]![0], pairs[p]![1], term))), { seed: SEED + 2, numRuns: PEER_FRAMES / 2 }), 12)
      .map((batch) => async () => {
        const [p] = batch[0]!;
        const [from, to] = pairs[p]!;
        // The real member redials and takes its connection back, and the
        // acceptor's handshake slots per address are few: a few tries.
        for (let attempt = 0; attempt < 5; attempt++) {
          const ws = await peerHandshake(cluster.nodes.find((n) => n.id === to)!, from, to);
          if (ws !== undefined) return sendAll(ws, batch.map(([, f]) => f));
          await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
        }
        return 0;
      });
    const t0 = Date.now();
    const preSent = (await pool(preJobs, 6)).reduce((a, b) => a + b, 0);
    const t1 = Date.now();
    const authSent = (await pool(authJobs, 2)).reduce((a, b) => a + b, 0);
    console.log(`peer fuzz: ${preSent} frames before authentication in ${t1 - t0} ms, ${authSent} after in ${Date.now() - t1} ms`);
    peerFramesSent = preSent + authSent;
    for (const n of cluster.nodes) expect(n.exitCode, `${n.id} exited: ${cluster.log(n).slice(-2000)}`).toBeNull();
    expect(peerFramesSent).toBeGreaterThanOrEqual(PEER_FRAMES * 0.9);
  }, 300_000);

  it("afterwards: every node serves, memory grew boundedly, committed data is unchanged on every node, the cluster commits", async () => {
    for (const n of cluster.nodes) {
      expect(n.exitCode).toBeNull();
      expect((await fetch(`http://127.0.0.1:${n.clientPort}/healthz`)).ok).toBe(true);
    }
    await cluster.waitReady();
    const peak = cluster.nodes.map((n) => cluster.rssBytes(n) ?? 0);
    // Bounded, not merely not-yet-collected: garbage from the burst may take
    // a few collections to go, so wait for each node to settle under the bound.
    const after = await waitFor("every node's memory growth under the bound", () => {
      const now = cluster.nodes.map((n) => cluster.rssBytes(n) ?? 0);
      return now.every((rss, i) => rss - before.rss[i]! < RSS_GROWTH_MAX) ? now : undefined;
    }, 60_000).catch(() => cluster.nodes.map((n) => cluster.rssBytes(n) ?? 0));
    console.log(`fuzz RSS growth at the end of the burst: ${peak.map((a, i) => `${cluster.nodes[i]!.id} ${Math.round((a - before.rss[i]!) / 1e6)} MB`).join(", ")}`);
    after.forEach((rss, i) => expect(rss - before.rss[i]!, `${cluster.nodes[i]!.id} memory growth`).toBeLessThan(RSS_GROWTH_MAX));
    // The seeded topic reads the same on every node as before the fuzz.
    for (const n of cluster.nodes) {
      await waitFor(`${n.id} to report the seeded topic as before`, async () => (JSON.stringify(await seedTopicOn(n)) === JSON.stringify(before.info) ? true : undefined), 20_000);
    }
    // Its messages, read back from the earliest offset, are the ones published.
    const got: string[] = [];
    const sub = await sdk.subscribe(seedTopic, { from: "earliest" });
    for await (const m of sub) {
      got.push(new TextDecoder().decode(m.data));
      if (got.length === seeded.length) break;
    }
    expect(got).toEqual(seeded);
    // And the cluster still commits.
    const r = await sdk.publish(seedTopic, "after the fuzz");
    expect(r.offset).toBe(seeded.length);
    console.log(`fuzz seed ${SEED}: ${clientFramesSent} client frames, ${peerFramesSent} peer frames; RSS growth ${after.map((a, i) => `${cluster.nodes[i]!.id} ${Math.round((a - before.rss[i]!) / 1e6)} MB`).join(", ")}`);
  }, 120_000);
});

/**
 * WsTransport on 127.0.0.1 with ephemeral ports: the conformance suite,
 * then the failure scenarios — restarts, a down peer, wrong secrets,
 * hostile frames, large and interrupted snapshots.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import type { NodeId } from "../../src/core/types.ts";
import { encodeFrame, decodePacket } from "../../src/transport/codec.ts";
import { TransportConfigError } from "../../src/transport/errors.ts";
import { computeAuth, makeNonce } from "../../src/transport/handshake.ts";
import type { WsTransportOptions } from "../../src/transport/ws-options.ts";
import { WsTransport } from "../../src/transport/ws-transport.ts";
import { transportConformance } from "./conformance.ts";
import {
  BytesSource, expectSameBytes, heartbeat, MemorySink, meta, patternBytes, sampleMessages, sleep, snapMessage, unusedPort, waitFor,
} from "./helpers.ts";
import type { Message } from "../../src/core/types.ts";

const SECRET = "raftbus-test-secret-0123456789";
const fast = { reconnectInitialMs: 20, reconnectMaxMs: 200, handshakeTimeoutMs: 2_000 } as const;

transportConformance({
  name: "WsTransport",
  create: (id, { source, sink }) => new WsTransport({
    nodeId: id, clusterId: "conf", clusterSecret: SECRET, ...fast,
    snapshotChunkBytes: 64 * 1024, snapshotSource: source, snapshotSink: sink,
  }),
  addressOf: (t) => (t as WsTransport).address,
});

/** A started WsTransport plus everything its handlers saw. */
interface Node {
  t: WsTransport;
  inbox: Message[];
  statuses: [NodeId, boolean][];
  unreachable: NodeId[];
}

const live: WsTransport[] = [];
afterEach(async () => {
  await Promise.all(live.splice(0).map((t) => t.stop()));
});

async function startNode(opts: Partial<WsTransportOptions> & { nodeId: NodeId }, onMessage?: (m: Message) => void): Promise<Node> {
  const t = new WsTransport({ clusterId: "c1", clusterSecret: SECRET, ...fast, ...opts });
  const n: Node = { t, inbox: [], statuses: [], unreachable: [] };
  t.onMessage((m) => {
    n.inbox.push(m);
    onMessage?.(m);
  });
  t.onSnapshotStatus((to, ok) => n.statuses.push([to, ok]));
  t.onUnreachable((p) => n.unreachable.push(p));
  live.push(t);
  await t.start();
  return n;
}

function link(...nodes: Node[]): void {
  const peers = new Map(nodes.map((n) => [n.t.nodeId, n.t.address] as const));
  for (const n of nodes) n.t.setPeers(peers);
}

const peerStats = (n: Node, peer: NodeId) => {
  const s = n.t.stats().peers.get(peer);
  if (s === undefined) throw new Error(`${n.t.nodeId} has no stats for ${peer}`);
  return s;
};

describe("WsTransport: connections", () => {
  it("reconnects after the accepting peer restarts on the same port (dialer side redials with back-off)", async () => {
    const a = await startNode({ nodeId: "a" });
    const b1 = await startNode({ nodeId: "b" });
    link(a, b1);
    a.t.send([heartbeat("a", "b", 1)]);
    await waitFor(() => b1.inbox.length === 1, "first delivery");
    const port = b1.t.port;
    await b1.t.stop();
    await waitFor(() => !peerStats(a, "b").connected, "a notices b is gone");
    await waitFor(() => a.unreachable.includes("b"), "unreachable report");
    const b2 = await startNode({ nodeId: "b", port });
    b2.t.setPeers(new Map([["a", a.t.address]]));
    a.t.send([heartbeat("a", "b", 2)]);
    await waitFor(() => b2.inbox.length === 1, "delivery after restart", 5_000);
    expect(b2.inbox).toEqual([heartbeat("a", "b", 2)]);
    expect(peerStats(a, "b").reconnects).toBeGreaterThanOrEqual(1);
    b2.t.send([heartbeat("b", "a", 3)]);
    await waitFor(() => a.inbox.length === 1, "reverse direction on the same connection");
  });

  it("the accepting side takes the newer connection when the dialer restarts", async () => {
    const a1 = await startNode({ nodeId: "a" });
    const b = await startNode({ nodeId: "b" });
    link(a1, b);
    b.t.send([heartbeat("b", "a", 1)]);
    await waitFor(() => a1.inbox.length === 1, "first delivery");
    await a1.t.stop();
    const a2 = await startNode({ nodeId: "a" });
    link(a2, b);
    b.t.send([heartbeat("b", "a", 2)]);
    await waitFor(() => a2.inbox.length === 1, "delivery to the new a");
    expect(a2.inbox).toEqual([heartbeat("b", "a", 2)]);
  });

  it("one connection per pair: the smaller id dials, and b refuses to be dialed by c", async () => {
    const b = await startNode({ nodeId: "b" });
    const c = await startNode({ nodeId: "c" });
    link(b, c);
    c.t.send([heartbeat("c", "b", 1)]);
    await waitFor(() => b.inbox.length === 1, "c→b over the connection b dialed");
    expect(b.t.stats().authFailures + c.t.stats().authFailures).toBe(0);
    // A rogue "c" that dials b anyway is refused.
    const ws = new WebSocket(`ws://${b.t.address}/`);
    const code = await rawHandshake(ws, { nodeId: "c", to: "b" });
    expect(code).toBe(4001);
    expect(b.t.stats().authFailures).toBe(1);
  });
});

describe("WsTransport: liveness and limits", () => {
  it("drops a connection whose handshake does not finish within handshakeTimeoutMs", async () => {
    const b = await startNode({ nodeId: "b", handshakeTimeoutMs: 100 });
    const ws = new WebSocket(`ws://${b.t.address}/`);
    const started = Date.now();
    expect(await closed(ws)).toBe(4005);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it("drops a peer that stops answering pings (half-open link)", async () => {
    const b = await startNode({ nodeId: "b", pingIntervalMs: 50 });
    b.t.setPeers(new Map([["a0", "127.0.0.1:1"]]));
    const ws = new WebSocket(`ws://${b.t.address}/`, { autoPong: false });
    expect(await rawHandshake(ws, { nodeId: "a0", to: "b" })).toBe("open");
    await waitFor(() => peerStats(b, "a0").connected, "connected");
    expect(await closed(ws)).toBe(1006);
    expect(peerStats(b, "a0").connected).toBe(false);
  });

  it("refuses connections beyond pendingConnectionsMax while they handshake", async () => {
    const b = await startNode({ nodeId: "b", pendingConnectionsMax: 2 });
    const socks = [0, 1, 2].map(() => new WebSocket(`ws://${b.t.address}/`));
    const codes = await Promise.race([
      Promise.all(socks.slice(2).map(closed)),
      sleep(2_000).then(() => "still open"),
    ]);
    expect(codes).toEqual([1006]);
    for (const s of socks) s.terminate();
  });

  it("idle sockets from one address hold at most pendingConnectionsPerAddressMax slots; a real peer from another address still gets in", async () => {
    const b = await startNode({ nodeId: "b", pendingConnectionsMax: 6, pendingConnectionsPerAddressMax: 2 });
    // The attacker's sockets come from 127.0.0.2 and never say hello.
    const idle = [...Array(8).keys()].map(() => new WebSocket(`ws://${b.t.address}/`, { localAddress: "127.0.0.2" }));
    for (const ws of idle) ws.on("error", () => undefined);
    await waitFor(() => (b.t.stats().refusedHandshakes ?? 0) === 6, "six refused handshakes");
    const a = await startNode({ nodeId: "a" });
    link(a, b);
    await waitFor(() => peerStats(b, "a").connected, "the real peer connected");
    for (const ws of idle) ws.terminate();
  });

  it("with a tiny socketBufferedBytesMax, flushing resumes from the write callbacks and loses nothing", async () => {
    const a = await startNode({ nodeId: "a", socketBufferedBytesMax: 1 });
    const b = await startNode({ nodeId: "b" });
    link(a, b);
    const n = 1_000;
    for (let i = 0; i < n; i += 100) {
      a.t.send([...Array(100).keys()].map((j) => ({
        from: "a", to: "b", term: 1, type: "app", prevIndex: i + j, prevTerm: 1, commit: 0,
        entries: [{ index: i + j + 1, term: 1, type: "normal", data: new Uint8Array(1_024) }],
      }) as Message));
    }
    await waitFor(() => b.inbox.length === n, "every append", 10_000);
    expect(b.inbox.map((m) => (m.type === "app" ? m.prevIndex : -1))).toEqual([...Array(n).keys()]);
    expect(peerStats(a, "b")).toMatchObject({ sent: n, dropped: 0, queuedMessages: 0 });
  });
});

describe("WsTransport: bounded queues", () => {
  it("queues up to queueMessagesMax for a down peer, drops the newest beyond, then delivers the queue in order", async () => {
    const port = await unusedPort();
    const a = await startNode({ nodeId: "a", queueMessagesMax: 10, reconnectMaxMs: 50 });
    a.t.setPeers(new Map([["b", `127.0.0.1:${port}`]]));
    a.t.send([...Array(100).keys()].map((i) => heartbeat("a", "b", i)));
    expect(peerStats(a, "b")).toMatchObject({ queuedMessages: 10, dropped: 90, connected: false });
    await waitFor(() => a.unreachable.includes("b"), "unreachable report");
    for (let round = 0; round < 5; round++) {
      a.t.send([heartbeat("a", "b", 1000 + round)]);
      expect(peerStats(a, "b").queuedMessages).toBe(10);
    }
    expect(peerStats(a, "b").dropped).toBe(95);
    const b = await startNode({ nodeId: "b", port });
    b.t.setPeers(new Map([["a", a.t.address]]));
    await waitFor(() => b.inbox.length === 10, "queued heartbeats", 5_000);
    expect(b.inbox.map((m) => (m.type === "heartbeat" ? m.readSeq : -1))).toEqual([...Array(10).keys()]);
    expect(peerStats(a, "b").queuedMessages).toBe(0);
  });

  it("never holds more than queueBytesMax; a message larger than a frame is dropped", async () => {
    const port = await unusedPort();
    const a = await startNode({ nodeId: "a", maxFrameBytes: 64 * 1024, queueBytesMax: 64 * 1024, snapshotChunkBytes: 32 * 1024 });
    a.t.setPeers(new Map([["b", `127.0.0.1:${port}`]]));
    const app = (i: number, bytes: number): Message => ({
      from: "a", to: "b", term: 1, type: "app", prevIndex: i, prevTerm: 1, commit: 0,
      entries: [{ index: i + 1, term: 1, type: "normal", data: new Uint8Array(bytes) }],
    });
    for (let i = 0; i < 20; i++) {
      a.t.send([app(i, 10_000)]);
      expect(peerStats(a, "b").queuedBytes).toBeLessThanOrEqual(64 * 1024);
    }
    expect(peerStats(a, "b").queuedMessages).toBe(6);
    expect(peerStats(a, "b").dropped).toBe(14);
    a.t.send([app(99, 100_000)]);
    expect(peerStats(a, "b").dropped).toBe(15);
  });
});

describe("WsTransport: authentication", () => {
  it("rejects a peer with the wrong cluster secret and counts it; nothing is delivered", async () => {
    const a = await startNode({ nodeId: "a", clusterSecret: "a-completely-different-secret" });
    const b = await startNode({ nodeId: "b" });
    link(a, b);
    a.t.send([heartbeat("a", "b", 1)]);
    await waitFor(() => b.t.stats().authFailures >= 2, "repeated rejections (a keeps redialing)");
    expect(b.inbox).toEqual([]);
    expect(peerStats(a, "b").connected).toBe(false);
    expect(peerStats(b, "a").connected).toBe(false);
  });

  it("refuses a WebSocket from a browser page (an Origin header) before the handshake, and counts it", async () => {
    const b = await startNode({ nodeId: "b" });
    const ws = new WebSocket(`ws://${b.t.address}/`, { origin: "http://attacker.example" });
    ws.on("error", () => undefined); // terminate() below reports the refused upgrade as an error too
    const status = await new Promise<number>((resolve) => {
      ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.once("open", () => resolve(101));
    });
    ws.terminate();
    expect(status).toBe(401);
    expect(b.t.stats().refusedHandshakes).toBe(1);
    expect(b.t.stats().authFailures).toBe(0);
  });

  it("rejects a peer from another cluster id", async () => {
    const a = await startNode({ nodeId: "a", clusterId: "other" });
    const b = await startNode({ nodeId: "b" });
    link(a, b);
    await waitFor(() => b.t.stats().authFailures >= 1, "rejection");
    expect(peerStats(b, "a").connected).toBe(false);
  });

  it("the dialer rejects an acceptor that cannot prove the secret (mutual authentication)", async () => {
    // A rogue "b" that answers the handshake with a tag made under another secret.
    const rogue = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((r) => rogue.once("listening", r));
    const rogueNonce = makeNonce();
    rogue.on("connection", (ws) => {
      ws.send(encodeFrame({ v: 1, kind: "challenge", nonce: rogueNonce }));
      ws.on("message", (data) => {
        const [hello] = decodePacket(data as Buffer);
        if (hello?.kind !== "hello") return;
        ws.send(encodeFrame({
          v: 1, kind: "hello", nodeId: "b", clusterId: "c1", to: "a", nonce: rogueNonce,
          auth: computeAuth("not-the-cluster-secret!!", { role: "accept", clusterId: "c1", from: "b", to: "a", peerNonce: hello.nonce, ownNonce: rogueNonce }),
        }));
      });
    });
    try {
      const a = await startNode({ nodeId: "a" });
      a.t.setPeers(new Map([["b", `127.0.0.1:${(rogue.address() as AddressInfo).port}`]]));
      a.t.send([heartbeat("a", "b", 1)]);
      await waitFor(() => a.t.stats().authFailures >= 2, "the dialer refusing the rogue (and retrying)");
      expect(peerStats(a, "b")).toMatchObject({ connected: false, sent: 0, queuedMessages: 1 });
    } finally {
      await new Promise((r) => rogue.close(r));
    }
  });

  it("refuses authenticated nodes that are not configured peers", async () => {
    const b = await startNode({ nodeId: "b" });
    b.t.setPeers(new Map());
    const code = await rawHandshake(new WebSocket(`ws://${b.t.address}/`), { nodeId: "a", to: "b" });
    expect(code).toBe(4001);
    expect(b.t.stats().authFailures).toBe(1);
  });
});

/**
 * Drives the client side of the handshake by hand as `nodeId`. Resolves
 * with the close code if the server refuses, or "open" once authenticated.
 */
function rawHandshake(ws: WebSocket, o: { nodeId: NodeId; to: NodeId; secret?: string }): Promise<number | "open"> {
  return new Promise((resolve, reject) => {
    const nonce = makeNonce();
    ws.on("error", reject);
    ws.on("close", (code) => resolve(code));
    ws.on("message", (data) => {
      const [f] = decodePacket(data as Buffer);
      if (f?.kind === "challenge") {
        ws.send(encodeFrame({
          v: 1, kind: "hello", nodeId: o.nodeId, clusterId: "c1", to: o.to, nonce,
          auth: computeAuth(o.secret ?? SECRET, { role: "dial", clusterId: "c1", from: o.nodeId, to: o.to, peerNonce: f.nonce, ownNonce: nonce }),
        }));
      } else if (f?.kind === "hello") {
        ws.removeAllListeners("message");
        resolve("open");
      }
    });
  });
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) resolve(-1);
    ws.on("close", (code) => resolve(code));
  });
}

describe("WsTransport: hostile frames", () => {
  it("counts and drops garbage, text, invalid and spoofed frames; keeps delivering; closes after too many", async () => {
    const b = await startNode({ nodeId: "b", malformedFramesMax: 6 });
    const c = await startNode({ nodeId: "c" });
    link(b, c);
    b.t.setPeers(new Map([["a0", "127.0.0.1:1"], ["c", c.t.address]]));
    const ws = new WebSocket(`ws://${b.t.address}/`);
    expect(await rawHandshake(ws, { nodeId: "a0", to: "b" })).toBe("open");
    ws.send(new Uint8Array([0xc1, 0xff, 0x00])); // garbage
    ws.send("hello"); // text frame
    ws.send(encodeFrame({ v: 1, kind: "snapAck", index: 1, term: 1, offset: 0, done: false, failed: false }).subarray(0, 12)); // truncated
    ws.send(encodeFrame({ v: 1, kind: "raft", msg: heartbeat("mallory", "b", 1) } as never)); // spoofed from
    ws.send(encodeFrame({ v: 1, kind: "raft", msg: heartbeat("a0", "b", 7) } as never)); // valid
    await waitFor(() => b.inbox.length === 1, "the valid frame");
    expect(b.inbox).toEqual([heartbeat("a0", "b", 7)]);
    expect(peerStats(b, "a0").malformedFrames).toBe(4);
    for (let i = 0; i < 3; i++) ws.send(new Uint8Array([0xc1]));
    expect(await closed(ws)).toBe(4002);
    expect(peerStats(b, "a0").malformedFrames).toBe(7);
    // The node keeps working for its real peers.
    c.t.send([heartbeat("c", "b", 1)]);
    await waitFor(() => b.inbox.length === 2, "c→b after the abuse");
  });

  it("an oversized frame is refused by maxPayload, counted, and the peer can reconnect", async () => {
    const b = await startNode({ nodeId: "b", maxFrameBytes: 64 * 1024, snapshotChunkBytes: 32 * 1024 });
    b.t.setPeers(new Map([["a0", "127.0.0.1:1"]]));
    const ws = new WebSocket(`ws://${b.t.address}/`);
    expect(await rawHandshake(ws, { nodeId: "a0", to: "b" })).toBe("open");
    ws.send(new Uint8Array(64 * 1024 + 1));
    expect(await closed(ws)).toBe(1009);
    await waitFor(() => peerStats(b, "a0").oversizedFrames === 1, "oversized count");
    const again = new WebSocket(`ws://${b.t.address}/`);
    expect(await rawHandshake(again, { nodeId: "a0", to: "b" })).toBe("open");
    again.send(encodeFrame({ v: 1, kind: "raft", msg: heartbeat("a0", "b", 1) } as never));
    await waitFor(() => b.inbox.length === 1, "delivery on the new connection");
    again.close();
  });

  it("garbage before the handshake is an authentication failure", async () => {
    const b = await startNode({ nodeId: "b" });
    const ws = new WebSocket(`ws://${b.t.address}/`);
    await new Promise((r) => ws.once("open", r));
    ws.send(new Uint8Array([1, 2, 3]));
    expect(await closed(ws)).toBe(4001);
    expect(b.t.stats()).toMatchObject({ authFailures: 1, unattributedBadFrames: 1 });
  });
});

describe("WsTransport: snapshots", () => {
  const SIZE = 3 * 1024 * 1024;
  const CHUNK = 64 * 1024;

  async function pair(senderId: NodeId, receiverId: NodeId, data: Uint8Array, sink: MemorySink, extra: Partial<WsTransportOptions> = {}) {
    const source = new BytesSource(data, 100_000);
    let committedAtDelivery: Uint8Array | undefined;
    const s = await startNode({ nodeId: senderId, snapshotSource: source, snapshotChunkBytes: CHUNK, ...extra });
    const r = await startNode({ nodeId: receiverId, snapshotSink: sink, snapshotChunkBytes: CHUNK, ...extra },
      (m) => { if (m.type === "snap") committedAtDelivery = sink.get(m.snapshot); });
    link(s, r);
    return { s, r, source, committedAtDelivery: () => committedAtDelivery };
  }

  it("delivers 3 MB in 64 KiB chunks intact; snap arrives after the commit; raft traffic flows meanwhile", async () => {
    const data = patternBytes(SIZE, 11);
    const sink = new MemorySink();
    const { s, r, committedAtDelivery } = await pair("a", "b", data, sink);
    s.t.send([snapMessage("a", "b"), ...sampleMessages("a", "b")]);
    await waitFor(() => s.statuses.length === 1, "snapshot status", 20_000);
    expect(s.statuses).toEqual([["b", true]]);
    expectSameBytes(committedAtDelivery(), data);
    expect(sink.writes).toBe(SIZE / CHUNK);
    expect(sink.largestWriteBytes).toBe(CHUNK);
    expect(r.inbox.filter((m) => m.type === "snap")).toEqual([snapMessage("a", "b")]);
    expect(r.inbox.filter((m) => m.type !== "snap")).toEqual(sampleMessages("a", "b"));
  });

  it.each([["dialer sends", "a", "b"], ["acceptor sends", "b", "a"]] as const)(
    "resumes after the connection drops mid-transfer (%s): no byte written twice",
    async (_name, senderId, receiverId) => {
      const data = patternBytes(SIZE, 5);
      const sink = new MemorySink();
      const { s, r, source } = await pair(senderId, receiverId, data, sink);
      sink.onWrite = (n) => { if (n === 10) r.t.disconnect(senderId); };
      s.t.send([snapMessage(senderId, receiverId)]);
      await waitFor(() => s.statuses.length === 1, "snapshot status", 20_000);
      expect(s.statuses).toEqual([[receiverId, true]]);
      expectSameBytes(sink.get(meta()), data);
      expect(sink.bytesWritten).toBe(SIZE);
      expect(source.opens).toBe(2);
      expect(peerStats(s, receiverId).reconnects).toBe(1);
      expect(sink.log.filter((l) => l.startsWith("begin"))).toEqual([`begin 100/4 from ${senderId} at 0`]);
    },
  );

  it("reports false after snapshotTimeoutMs when the peer stays down", async () => {
    const port = await unusedPort();
    const a = await startNode({ nodeId: "a", snapshotSource: new BytesSource(patternBytes(10)), snapshotTimeoutMs: 200 });
    a.t.setPeers(new Map([["b", `127.0.0.1:${port}`]]));
    a.t.send([snapMessage("a", "b")]);
    await waitFor(() => a.statuses.length === 1, "abandonment");
    expect(a.statuses).toEqual([["b", false]]);
    expect(peerStats(a, "b").snapshotsFailed).toBe(1);
  });

  it("a receiver without a sink refuses the snapshot: status false, nothing delivered", async () => {
    const a = await startNode({ nodeId: "a", snapshotSource: new BytesSource(patternBytes(1_000)) });
    const b = await startNode({ nodeId: "b" });
    link(a, b);
    a.t.send([snapMessage("a", "b")]);
    await waitFor(() => a.statuses.length === 1, "status");
    expect(a.statuses).toEqual([["b", false]]);
    expect(b.inbox).toEqual([]);
  });
});

describe("WsTransport: configuration", () => {
  const base = { nodeId: "a", clusterId: "c1", clusterSecret: SECRET };
  it.each([
    ["short secret", { clusterSecret: "short" }],
    ["empty node id", { nodeId: "" }],
    ["chunk larger than a frame", { maxFrameBytes: 64 * 1024, snapshotChunkBytes: 64 * 1024 }],
    ["queue smaller than a frame", { queueBytesMax: 1024 }],
    ["reconnect cap below start", { reconnectInitialMs: 500, reconnectMaxMs: 100 }],
    ["fractional timeout", { snapshotTimeoutMs: 1.5 }],
  ])("rejects %s with INVALID_CONFIG", (_name, bad) => {
    expect(() => new WsTransport({ ...base, ...bad })).toThrow(TransportConfigError);
  });

  it("rejects a peer address without a port", () => {
    const t = new WsTransport(base);
    expect(() => t.setPeers(new Map([["b", "localhost"]]))).toThrow(expect.objectContaining({ code: "INVALID_CONFIG" }));
  });

  it("start() rejects when the port is taken", async () => {
    const a = await startNode({ nodeId: "a" });
    const b = new WsTransport({ ...base, nodeId: "b", port: a.t.port });
    b.onMessage(() => undefined);
    await expect(b.start()).rejects.toThrow(/EADDRINUSE/);
  });
});

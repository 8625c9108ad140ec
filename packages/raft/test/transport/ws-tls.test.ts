/**
 * WsTransport with mutual TLS (issue 13, part 3): members under one CA talk;
 * a plain-text peer, a peer with a certificate from another CA, and a
 * listener with such a certificate are all refused before the HMAC
 * handshake, and nothing is delivered.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { Message, NodeId } from "../../src/core/types.ts";
import type { PeerTls, WsTransportOptions } from "../../src/transport/ws-options.ts";
import { WsTransport } from "../../src/transport/ws-transport.ts";
import { heartbeat, waitFor } from "./helpers.ts";
import { makeTestPki } from "./test-pki.ts";

const dir = mkdtempSync(join(tmpdir(), "raftbus-tls-"));
const pki = makeTestPki(dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const member: PeerTls = { cert: pki.node.cert, key: pki.node.key, ca: pki.ca };
const stranger: PeerTls = { cert: pki.stranger.cert, key: pki.stranger.key, ca: pki.ca };

interface Node {
  t: WsTransport;
  inbox: Message[];
}

const live: WsTransport[] = [];
afterEach(async () => {
  await Promise.all(live.splice(0).map((t) => t.stop()));
});

async function startNode(opts: Partial<WsTransportOptions> & { nodeId: NodeId }): Promise<Node> {
  const t = new WsTransport({ clusterId: "c1", clusterSecret: "raftbus-test-secret-0123456789", reconnectInitialMs: 20, reconnectMaxMs: 200, handshakeTimeoutMs: 2_000, ...opts });
  const n: Node = { t, inbox: [] };
  t.onMessage((m) => n.inbox.push(m));
  live.push(t);
  await t.start();
  return n;
}

function link(...nodes: Node[]): void {
  const peers = new Map(nodes.map((n) => [n.t.nodeId, n.t.address] as const));
  for (const n of nodes) n.t.setPeers(peers);
}

describe("WsTransport: mutual TLS", () => {
  it("members with certificates from the cluster CA exchange messages over wss", async () => {
    const a = await startNode({ nodeId: "a", tls: member });
    const b = await startNode({ nodeId: "b", tls: member });
    link(a, b);
    a.t.send([heartbeat("a", "b", 1)]);
    b.t.send([heartbeat("b", "a", 2)]);
    await waitFor(() => b.inbox.length === 1 && a.inbox.length === 1, "one message each way");
    expect(b.inbox[0]).toMatchObject({ from: "a", to: "b" });
    expect(b.t.stats().refusedHandshakes ?? 0).toBe(0);
  });

  it("a plain-text peer is refused by a TLS member before it can try the secret", async () => {
    const a = await startNode({ nodeId: "a" });
    const b = await startNode({ nodeId: "b", tls: member });
    link(a, b);
    a.t.send([heartbeat("a", "b", 1)]);
    await waitFor(() => b.t.stats().refusedHandshakes! >= 2, "repeated TLS refusals (a keeps redialing)");
    expect(b.inbox).toEqual([]);
    expect(b.t.stats().authFailures).toBe(0);
    expect(a.t.stats().peers.get("b")?.connected).toBe(false);
  });

  it("a peer whose certificate another CA signed is refused, and so is a listener with one", async () => {
    const a = await startNode({ nodeId: "a", tls: stranger });
    const b = await startNode({ nodeId: "b", tls: member });
    link(a, b);
    a.t.send([heartbeat("a", "b", 1)]);
    await waitFor(() => b.t.stats().refusedHandshakes! >= 2, "repeated TLS refusals of the stranger's certificate");
    expect(b.inbox).toEqual([]);
    await Promise.all(live.splice(0).map((t) => t.stop()));

    // The dialer checks the listener too: a node posing as b with a stranger's certificate gets nothing.
    const c = await startNode({ nodeId: "a", tls: member });
    const d = await startNode({ nodeId: "b", tls: stranger });
    link(c, d);
    c.t.send([heartbeat("a", "b", 1)]);
    await waitFor(() => c.t.stats().peers.get("b")?.connected === false && d.t.stats().refusedHandshakes! >= 1, "the dialer to abort the TLS handshake");
    expect(d.inbox).toEqual([]);
    expect(d.t.stats().authFailures).toBe(0);
  });
});

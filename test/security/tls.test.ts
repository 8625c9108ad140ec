/**
 * A cluster with TLS from certificate files, on real node processes (issue
 * 13, part 3). A throwaway CA and a certificate for 127.0.0.1 are made with
 * `openssl` (node:crypto cannot sign X.509). The nodes run mutual TLS
 * between peers and https/wss for clients:
 *
 * - publish and subscribe over wss with the SDK given the CA; the CLI with
 *   `--ca`; `cluster status` (the leader asks every member over https);
 * - a client without the CA, and plain ws:// or http:// to the client port,
 *   get nothing;
 * - on the peer port, a plain-text peer and a TLS peer without a
 *   certificate from the CA are refused; one with such a certificate gets
 *   as far as the HMAC challenge (so the refusals are TLS's doing);
 * - a new node joins through `--join wss://…` and becomes a voter.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { connect } from "@raftbus/client/node";
import type { Msg, RaftbusClient } from "@raftbus/client/node";
import { makeTestPki } from "../../packages/raft/test/transport/test-pki.ts";
import type { TestPki } from "../../packages/raft/test/transport/test-pki.ts";
import { runCliInProcess as runCli } from "../../packages/cli/test/helpers/cluster.ts";
import { EXIT } from "../../packages/cli/src/util/exit-codes.ts";
import { LocalCluster, waitFor } from "../support/local-cluster.ts";

const dir = mkdtempSync(join(tmpdir(), "raftbus-tls-e2e-"));
let pki: TestPki;
let cluster: LocalCluster;
const clients: RaftbusClient[] = [];

beforeAll(async () => {
  pki = makeTestPki(dir);
  cluster = await LocalCluster.start({ tls: { certFile: pki.node.certFile, keyFile: pki.node.keyFile, caFile: pki.caFile } });
}, 90_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cluster?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** How a WebSocket attempt ended: opened (and the first message, if any), or the error's code. */
function attempt(url: string, options: WebSocket.ClientOptions = {}): Promise<{ opened: boolean; error?: string; first?: Buffer }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { handshakeTimeout: 5000, ...options });
    let opened = false;
    // Ends at the first of: a message (the acceptor speaks first), a close
    // (refused after the upgrade, or the server's own handshake timeout), an error.
    ws.once("open", () => {
      opened = true;
    });
    ws.once("message", (data: Buffer) => {
      ws.terminate();
      resolve({ opened: true, first: data });
    });
    ws.once("close", () => resolve({ opened }));
    ws.on("error", (err: Error & { code?: string }) => resolve({ opened, error: err.code ?? err.message }));
  });
}

describe("a cluster with TLS", () => {
  it("serves publish and subscribe over wss to the SDK given the CA, and the CLI with --ca", async () => {
    expect(cluster.servers().every((s) => s.startsWith("wss://"))).toBe(true);
    const client = await connect({ servers: cluster.servers(), tls: { ca: pki.ca }, timeoutMs: 15_000, name: "tls-test" });
    clients.push(client);
    const got: Msg[] = [];
    const sub = await client.subscribe("tls.events", { handler: (m: Msg) => { got.push(m); } });
    await client.publish("tls.events", { over: "wss" });
    const pub = await runCli(["pub", "tls.events", '{"over":"cli"}', "--servers", cluster.servers().join(","), "--ca", pki.caFile]);
    expect(pub.code, pub.stderr).toBe(EXIT.OK);
    await waitFor("both messages delivered over wss", () => (got.length >= 2 ? true : undefined), 15_000);
    expect(got.map((m) => m.json<{ over: string }>().over).sort()).toEqual(["cli", "wss"]);
    await sub.unsubscribe();
    // The leader asks every member for its status over https (checked against the CA).
    const status = await runCli(["cluster", "status", "--json", "--servers", cluster.servers().join(","), "--ca", pki.caFile]);
    expect(status.code, status.stderr).toBe(EXIT.OK);
    const nodes = (JSON.parse(status.stdout) as { nodes: { id: string; healthy: boolean; clientAddress: string }[] }).nodes;
    expect(nodes.map((n) => [n.id, n.healthy, n.clientAddress.slice(0, 6)])).toEqual([["n1", true, "wss://"], ["n2", true, "wss://"], ["n3", true, "wss://"]]);
  });

  it("a client without the CA, and plain ws:// or http:// to the client port, get nothing", async () => {
    const noCa = await runCli(["pub", "tls.events", "{}", "--servers", cluster.servers().join(",")]);
    expect(noCa.code).toBe(EXIT.UNREACHABLE);
    expect(noCa.stderr).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|unable to verify/);
    const node = cluster.nodes[0]!;
    expect((await attempt(`ws://127.0.0.1:${node.clientPort}`)).opened).toBe(false);
    await expect(fetch(`http://127.0.0.1:${node.clientPort}/healthz`, { signal: AbortSignal.timeout(5000) })).rejects.toThrow();
  });

  it("refuses a plain-text peer and a TLS peer without a certificate from the CA; one with such a certificate reaches the HMAC challenge", async () => {
    const peer = `127.0.0.1:${cluster.nodes[0]!.peerPort}`;
    const plain = await attempt(`ws://${peer}/`);
    expect(plain.opened).toBe(false);
    const anonymous = await attempt(`wss://${peer}/`, { ca: pki.ca });
    expect(anonymous.opened).toBe(false);
    const stranger = await attempt(`wss://${peer}/`, { ca: pki.ca, cert: pki.stranger.cert, key: pki.stranger.key });
    expect(stranger.opened).toBe(false);
    const member = await attempt(`wss://${peer}/`, { ca: pki.ca, cert: pki.node.cert, key: pki.node.key });
    expect(member.opened).toBe(true);
    expect(member.first, "the acceptor's challenge frame").toBeDefined();
  });

  it("a new node joins with --join wss://… (its join client checks the CA) and becomes a voter", async () => {
    const n4 = await cluster.newNode("n4");
    cluster.startNode(n4, ["--peers", `n4=127.0.0.1:${n4.peerPort}:${n4.clientPort}`, "--join", cluster.servers()[0]!]);
    const leader = await cluster.leader();
    await waitFor("n4 a voter", async () => {
      if (n4.proc === undefined) throw new Error(`n4 exited:\n${cluster.log(n4).slice(-2000)}`);
      const st = (await cluster.status(leader)) as unknown as { voters: string[] } | undefined;
      return st?.voters.includes("n4") === true ? true : undefined;
    }, 60_000);
    expect(cluster.log(n4)).toContain("added to the cluster as a learner");
  }, 90_000);
});

/**
 * Client authentication and permissions (issue 13 parts 1–3) on three real
 * node processes in token mode, through the CLI and the SDK: no token or a
 * wrong one is UNAUTHORIZED; `user add` gives a token that works, `rotate`
 * and `remove` stop the old one (and end its connections); a user limited
 * to `orders.**` cannot publish or subscribe elsewhere, read `$sys.`, read
 * another client's reply inbox or delete topics, while the admin can, and
 * narrowing its grants ends the subscriptions they no longer cover; every
 * refusal is a `$sys.security` event (a follower's too, forwarded with the
 * node's own credential); `auth open` beyond loopback stops the node at
 * start-up; a browser Origin that is not allowed gets HTTP 403; a node
 * joins with `--join` on its own credential, which adds only itself.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { DEV_CLUSTER_SECRET, nodeToken } from "@raftbus/broker";
import { RaftbusError } from "@raftbus/client";
import type { Msg, RaftbusClient } from "@raftbus/client/node";
import { connect } from "@raftbus/client/node";
import { runCli } from "../../packages/cli/test/helpers/cluster.ts";
import { LocalCluster, freePort, waitFor } from "../support/local-cluster.ts";

const BIN = fileURLToPath(new URL("../../packages/cli/src/bin.ts", import.meta.url));
const ADMIN_TOKEN = `rbu1.admin.${randomBytes(32).toString("base64url")}`;

interface SecurityEvent {
  kind: string;
  node: string;
  data: { reason: string; by?: { client: string; user?: string }; details?: Record<string, unknown> };
}

/** The error code a promise rejected with. */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RaftbusError) return err.code;
    throw err;
  }
  throw new Error("expected a rejection");
}

describe("authentication and permissions", () => {
  let cluster: LocalCluster;
  let admin: RaftbusClient;
  const security: SecurityEvent[] = [];
  const servers = (): string => cluster.servers().join(",");
  // Valid clients follow leader changes (elections happen on a loaded machine); a refused token ends connect at once either way.
  const as = (token: string | undefined, name: string): Promise<RaftbusClient> =>
    connect({ servers: cluster.servers(), name, timeoutMs: 10_000, ...(token !== undefined ? { token } : {}) });
  const cli = (token: string, ...args: string[]) => runCli([...args, "--servers", servers(), "--token", token]);
  const seen = (what: string, pred: (e: SecurityEvent) => boolean) => waitFor(what, () => security.find(pred), 20_000);

  beforeAll(async () => {
    cluster = await LocalCluster.start({ extraArgs: ["--auth", "token"], env: { RAFTBUS_ADMIN_TOKEN: ADMIN_TOKEN } });
    admin = await as(ADMIN_TOKEN, "auth-admin");
    await admin.subscribe("$sys.security", { from: "earliest", handler: (m: Msg) => void security.push(m.json<SecurityEvent>()) });
  }, 90_000);

  afterAll(async () => {
    await admin?.close();
    await cluster?.destroy();
  });

  it("no token, a wrong token or a made-up user token is UNAUTHORIZED; each refusal is a security event, a follower's too", async () => {
    expect(await codeOf(as(undefined, "no-token"))).toBe("UNAUTHORIZED");
    expect(await codeOf(as("not-a-token-at-all-0123456789", "garbage"))).toBe("UNAUTHORIZED");
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n !== leader)!;
    const forged = await runCli(["topic", "list", "--servers", `ws://127.0.0.1:${follower.clientPort}`, "--token", `rbu1.mallory.${randomBytes(32).toString("base64url")}`, "--stale"]);
    expect(forged.code, forged.stderr).toBe(1);
    expect(forged.stderr).toContain("UNAUTHORIZED");
    // The follower's event reaches the log through its forwarding connection, which authenticates with the node's credential.
    await seen("auth.failed from the follower", (e) => e.kind === "auth.failed" && e.node === follower.id && e.data.by?.client === "raftbus-cli");
  }, 60_000);

  it("user add gives a token that works; rotate refuses the old one and ends its connections; remove refuses the new one", async () => {
    const added = await cli(ADMIN_TOKEN, "user", "add", "alice", "--grant", "pubsub:orders.**", "--json");
    expect(added.code, added.stderr).toBe(0);
    const first = (JSON.parse(added.stdout) as { token: string }).token;
    expect(first).toMatch(/^rbu1\.alice\./);
    const alice = await as(first, "alice-1");
    expect(alice.info?.user).toBe("alice");
    expect((await alice.publish("orders.new", { n: 1 })).offset).toBe(0);

    const closed = new Promise<void>((resolve) => alice.subscribe("orders.closed-check", { handler: () => undefined }).then((s) => s.closed.then(() => resolve(), () => resolve())));
    const rotated = await cli(ADMIN_TOKEN, "user", "rotate", "alice", "--json");
    expect(rotated.code, rotated.stderr).toBe(0);
    const second = (JSON.parse(rotated.stdout) as { token: string }).token;
    expect(second).not.toBe(first);
    await closed;
    expect(await codeOf(as(first, "alice-old"))).toBe("UNAUTHORIZED");
    const again = await as(second, "alice-2");
    await again.publish("orders.new", { n: 2 });
    await again.close();

    const list = await admin.users.list();
    expect(list).toMatchObject({ users: [{ name: "alice", grants: ["pubsub:orders.**"] }], admin: "admin" });
    expect(JSON.stringify(list)).not.toContain(second);
    await admin.users.remove("alice");
    expect(await codeOf(as(second, "alice-removed"))).toBe("UNAUTHORIZED");
    await alice.close().catch(() => undefined);
  }, 60_000);

  it("a user limited to orders.** is FORBIDDEN elsewhere, on $sys., on another client's inbox and for admin requests; the admin is not", async () => {
    const bobToken = (await admin.users.add("bob", ["pub:orders.**", "sub:orders.**"])).token;
    const bob = await as(bobToken, "bob");
    try {
      await bob.publish("orders.eu.new", { ok: true });
      const denied = async (p: Promise<unknown>, permission: string): Promise<void> => {
        try {
          await p;
        } catch (err) {
          expect(err).toBeInstanceOf(RaftbusError);
          expect((err as RaftbusError).code).toBe("FORBIDDEN");
          expect((err as RaftbusError).details?.["permission"]).toBe(permission);
          return;
        }
        throw new Error(`expected FORBIDDEN (${permission})`);
      };
      await denied(bob.publish("billing.invoice", { x: 1 }), "pub:billing.invoice");
      await denied(bob.subscribe("billing.*", { handler: () => undefined }), "sub:billing.*");
      await denied(bob.subscribe("**", { handler: () => undefined }), "sub:**");
      await denied(bob.subscribe("$sys.**", { handler: () => undefined }), "sub:$sys.**");
      await denied(bob.subscribe(`_reply.admin.${admin.clientId}`, { handler: () => undefined }), `sub:_reply.admin.${admin.clientId}`);
      await denied(bob.topics.delete("orders.eu.new"), "admin:topics");
      await denied(bob.users.list(), "admin:users");
      const sub = await bob.subscribe("orders.*.new", { from: "earliest", handler: () => undefined });
      await sub.unsubscribe();

      // Request/reply: bob reads his own inbox, the admin answers into it.
      const responder = await admin.reply("orders.rpc", (m) => ({ echo: m.json<{ q: number }>().q }));
      expect((await bob.request("orders.rpc", { q: 7 }, { timeoutMs: 10_000 })).json()).toEqual({ echo: 7 });
      await responder.unsubscribe();

      const del = await cli(bobToken, "topic", "delete", "orders.eu.new", "--yes");
      expect(del.code).toBe(1);
      expect(del.stderr).toContain("FORBIDDEN");
      await admin.topics.delete("orders.eu.new");
      expect(await admin.subscribe("billing.*", { handler: () => undefined }).then((s) => s.unsubscribe().then(() => "ok"))).toBe("ok");

      const event = await seen("access.denied of bob", (e) => e.kind === "access.denied" && e.data.by?.user === "bob" && e.data.details?.["permission"] === "sub:$sys.**");
      expect(event.data.reason).toContain("$sys.**");

      // Narrowed grants end the subscriptions they no longer cover, at once.
      const kept = await bob.subscribe("orders.eu.*", { handler: () => undefined });
      await admin.users.grant("bob", ["pub:orders.**"]);
      const why = await kept.closed;
      expect(why).toBeInstanceOf(RaftbusError);
      expect((why as RaftbusError).code).toBe("FORBIDDEN");
      await denied(bob.subscribe("orders.eu.*", { handler: () => undefined }), "sub:orders.eu.*");
      await bob.publish("orders.eu.new", { still: "allowed" });
    } finally {
      await bob.close();
    }
  }, 90_000);

  it("auth open is refused at start-up when the node listens beyond loopback (exit 2)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "raftbus-open-"));
    try {
      const r = spawnSync(process.execPath, [
        "--import", "tsx", BIN, "node", "start", "--id", "z1", "--data-dir", dir, "--host", "0.0.0.0", "--auth", "open",
        "--client-port", String(await freePort()), "--peer-port", String(await freePort()),
      ], { encoding: "utf8", timeout: 60_000, env: { ...process.env, RAFTBUS_SERVERS: "" } });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain("auth: open");
      expect(r.stderr).toContain("0.0.0.0");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 70_000);

  it("a WebSocket from a browser origin that is not allowed gets HTTP 403; the node's own origin and no origin pass", async () => {
    const port = cluster.nodes[0]!.clientPort;
    const open = (origin: string | undefined): Promise<number> => new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`, origin !== undefined ? { origin } : {});
      ws.on("open", () => {
        ws.close();
        resolve(101);
      });
      ws.on("unexpected-response", (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on("error", reject);
    });
    expect(await open("http://evil.example")).toBe(403);
    expect(await open(`http://127.0.0.1:${cluster.nodes[1]!.clientPort + 1000}`)).toBe(403);
    expect(await open(`http://localhost:${port}`)).toBe(101);
    expect(await open(`http://127.0.0.1:${cluster.nodes[2]!.clientPort}`)).toBe(101);
    expect(await open(undefined)).toBe(101);
    await seen("origin.refused", (e) => e.kind === "origin.refused" && e.data.details?.["origin"] === "http://evil.example");
  }, 30_000);

  it("a new node joins with --join on the credential derived from the cluster secret, which adds that node only", async () => {
    const n4 = await cluster.newNode("n4");
    const via = cluster.nodes[0]!;
    cluster.startNode(n4, ["--peers", `n4=127.0.0.1:${n4.peerPort}:${n4.clientPort}`, "--join", `ws://127.0.0.1:${via.clientPort}`]);
    await waitFor("n4 a voter", async () => {
      const st = await admin.cluster.status({ timeoutMs: 5000 }).catch(() => undefined);
      return st?.nodes.some((n) => n.id === "n4" && n.voter) === true ? true : undefined;
    }, 60_000, 250);
    // The same credential cannot add anyone else, nor publish.
    const node = await as(nodeToken(DEV_CLUSTER_SECRET, "raftbus", "n4"), "n4-as-client");
    try {
      expect(await codeOf(node.cluster.addNode({ id: "n9", peerAddress: "127.0.0.1:1", clientAddress: "ws://127.0.0.1:2", voter: false }))).toBe("FORBIDDEN");
      expect(await codeOf(node.publish("orders.x", {}))).toBe("FORBIDDEN");
    } finally {
      await node.close();
    }
  }, 90_000);
});

/**
 * System events end to end on three real node processes with a cluster
 * secret: events from every node (followers forward theirs) reach the log
 * signed and verify in the SDK; clients cannot publish to `$sys.`; audit,
 * settings (replicated), diagnostics, alerts on a killed leader; the
 * metrics endpoint; the CLI's `sub` shows a verified signature.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RaftbusError, deriveSysKey, formatSysKey } from "@raftbus/client";
import type { Msg, RaftbusClient } from "@raftbus/client/node";
import { connect } from "@raftbus/client/node";
import { LocalCluster, waitFor } from "../support/local-cluster.ts";

const SECRET = "sysev-test-secret-0123456789";
const BIN = fileURLToPath(new URL("../../packages/cli/src/bin.ts", import.meta.url));

interface Event {
  family: string;
  kind: string;
  node: string;
  severity: string;
  data: Record<string, unknown>;
}

describe("system events ($sys.*)", () => {
  let cluster: LocalCluster;
  let client: RaftbusClient;
  const received: Msg[] = [];
  const events = (): { msg: Msg; ev: Event }[] => received.map((msg) => ({ msg, ev: msg.json<Event>() }));
  const find = (pred: (ev: Event, msg: Msg) => boolean) => events().find(({ ev, msg }) => pred(ev, msg));
  const key = formatSysKey(deriveSysKey(SECRET, "raftbus"));

  beforeAll(async () => {
    cluster = await LocalCluster.start({ extraArgs: ["--cluster-secret", SECRET] });
    client = await connect({ servers: cluster.servers(), name: "sys-test", systemKeys: [key] });
    await client.subscribe("$sys.**", { from: "earliest", maxInFlight: 1000, handler: (m) => void received.push(m) });
  }, 90_000);

  afterAll(async () => {
    await client?.close();
    await cluster?.destroy();
  });

  it("every node announces itself: followers' events are forwarded to the leader, and all verify", async () => {
    await waitFor("node.started of n1, n2, n3", () => {
      const started = new Set(events().filter(({ ev }) => ev.kind === "node.started").map(({ ev }) => ev.node));
      return started.size === 3 ? true : undefined;
    }, 30_000);
    const elected = await waitFor("leader.elected", () => find((ev) => ev.kind === "leader.elected"), 10_000);
    expect(elected).toBeDefined();
    for (const { msg, ev } of events()) {
      expect(msg.verification, `${msg.topic} ${ev.kind}`).toBe("verified");
      expect(msg.senderId).toBe(ev.node === "cluster" ? msg.senderId : ev.node);
    }
    expect(find((ev, m) => ev.kind === "node.started" && m.topic === "$sys.system")!.msg.headers["raftbus-sig"]).toMatch(/^v1\.[0-9a-f]{8}\./);
  }, 60_000);

  it("clients cannot publish to $sys.: FORBIDDEN, and a security event names the client", async () => {
    const err = await client.publish("$sys.alerts.fake", { forged: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RaftbusError);
    expect((err as RaftbusError).code).toBe("FORBIDDEN");
    const denied = await waitFor("publish.denied", () => find((ev) => ev.kind === "publish.denied"));
    expect(denied.msg.topic).toBe("$sys.security");
    expect((denied.ev.data["by"] as { client: string }).client).toBe("sys-test");
  }, 30_000);

  it("audit: a topic created by a named client", async () => {
    await client.topics.create("orders");
    const a = await waitFor("topic.created audit", () => find((ev) => ev.kind === "topic.created"));
    expect(a.msg.topic).toBe("$sys.audit");
    expect(a.ev.data).toMatchObject({ target: "orders", by: { client: "sys-test" } });
  }, 30_000);

  it("settings are replicated: every node reports what `sys set` changed", async () => {
    const s = await client.sys.set({ metrics: { intervalMs: 2000, periodic: true } });
    expect(s.families.find((f) => f.family === "metrics")).toMatchObject({ intervalMs: 2000, periodic: true, replicated: true });
    await waitFor("config.changed", () => find((ev) => ev.kind === "config.changed"));
    // Each node reports the settings it applies (HTTP /v1/sys).
    for (const n of cluster.nodes) {
      await waitFor(`${n.id} applies the settings`, async () => {
        const st = (await (await fetch(`http://127.0.0.1:${n.clientPort}/v1/sys`)).json()) as { nodeId: string; families: { family: string; periodic: boolean }[] };
        return st.nodeId === n.id && st.families.find((f) => f.family === "metrics")?.periodic === true ? true : undefined;
      }, 10_000);
    }
    // Periodic metrics now flow from every node (persistence) and the leader (broker, replication).
    await waitFor("metrics from three nodes", () => {
      const nodes = new Set(events().filter(({ ev }) => ev.kind === "metrics.persistence").map(({ ev }) => ev.node));
      return nodes.size === 3 && find((ev) => ev.kind === "metrics.broker") !== undefined ? true : undefined;
    }, 20_000);
    await client.sys.set({}, { reset: true });
  }, 60_000);

  it("diagnostics on request: every node publishes its Raft and broker state", async () => {
    const requestId = await client.sys.diagnose("*");
    await waitFor("three reports", () => {
      const reports = events().filter(({ ev }) => ev.kind === "diagnostics.report" && ev.data["requestId"] === requestId);
      return reports.length === 3 ? reports : undefined;
    }, 20_000);
    const r = find((ev) => ev.kind === "diagnostics.report")!;
    expect(r.ev.data["raft"]).toMatchObject({ term: expect.any(Number), commit: expect.any(Number) });
  }, 30_000);

  it("/metrics: histograms, sys-event counters, default process metrics", async () => {
    const n = (await cluster.leader()).clientPort;
    const text = await (await fetch(`http://127.0.0.1:${n}/metrics`)).text();
    expect(text).toMatch(/^raftbus_raft_fsync_duration_seconds_bucket\{le="[^"]+",node="n\d"\} \d+/m);
    expect(text).toMatch(/^raftbus_publish_commit_duration_seconds_count\{node="n\d"\} \d+/m);
    expect(text).toMatch(/^raftbus_sys_events_published_total\{family="system",node="n\d"\} [1-9]/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds\{node="n\d"\}/m);
  }, 30_000);

  it("the CLI's sub shows a verified signature", async () => {
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ["--import", "tsx", BIN, "sub", "$sys.system", "--from", "earliest", "--count", "1", "--servers", cluster.servers().join(",")],
        { env: { ...process.env, RAFTBUS_SYSTEM_KEYS: key, NO_COLOR: "1" }, timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
    });
    expect(out).toMatch(/\$sys\.system @ 0/);
    expect(out).toMatch(/✓ signature verified \(key [0-9a-f]{8}\)/);
  }, 40_000);

  it("a killed leader: a new leader is elected and node-failure fires for the old one", async () => {
    const old = await cluster.leader();
    await cluster.kill(old);
    const fired = await waitFor("node-failure alert", () => find((ev) => ev.kind === "alert.firing" && ev.data["alert"] === "node-failure" && ev.data["subject"] === old.id), 30_000);
    expect(fired.msg.topic).toBe("$sys.alerts.node-failure");
    expect(fired.ev.severity).toBe("critical");
    const health = await waitFor("cluster health without the old leader", () => {
      const h = events().filter(({ ev }) => ev.kind === "cluster.health").at(-1);
      const members = h?.ev.data["members"] as { id: string; reachable: boolean }[] | undefined;
      return members?.find((m) => m.id === old.id)?.reachable === false ? h : undefined;
    }, 30_000);
    expect(health.ev.data["leader"]).not.toBe(old.id);
    cluster.startNode(old);
    await cluster.waitReady();
  }, 90_000);
});

/**
 * Backup and restore on real node processes (issue 16 part 2). A backup is
 * taken with the CLI while publishers keep writing; it is restored into a
 * NEW three-node cluster (new cluster id, new ports), which comes up with
 * every topic, message, subscription offset and dead letter the source
 * held at the backup's applied index — and nothing published after it. A
 * damaged copy of the file is refused by verify and restore (exit 3,
 * BACKUP_INVALID) and leaves the data directories empty.
 *
 * One cluster at a time: the source is stopped before the restored one starts.
 */
import { copyFileSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { connect } from "@raftbus/client/node";
import type { RaftbusClient } from "@raftbus/client/node";
import { BrokerStateMachine } from "@raftbus/broker";
import type { StoredMessage } from "@raftbus/client/protocol";
import { SYS_FAMILIES } from "@raftbus/client/protocol";
import { runCliInProcess as cli } from "../../packages/cli/test/helpers/cluster.ts";
import { LocalCluster, waitFor } from "../support/local-cluster.ts";

/** No system events: every topic in the backup is one this test wrote. */
const ENV = { RAFTBUS_SYS: JSON.stringify(Object.fromEntries(SYS_FAMILIES.map((f) => [f, { enabled: false }]))) };
const TOPICS = ["orders", "events.a", "events.b"] as const;

let source: LocalCluster | undefined;
let restored: LocalCluster | undefined;
const clients: RaftbusClient[] = [];

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await source?.destroy();
  await restored?.destroy();
});

/** Every message of `topic` in a stopped node's broker state, in offset order. */
async function messagesOffline(dataDir: string, topic: string): Promise<StoredMessage[]> {
  const broker = await BrokerStateMachine.open(join(dataDir, "broker"));
  try {
    const out: StoredMessage[] = [];
    for (;;) {
      const page = await broker.readMessages(topic, out.length === 0 ? 0 : (out[out.length - 1] as StoredMessage).offset + 1, 1000);
      if (page.length === 0) return out;
      out.push(...page);
    }
  } catch (err) {
    if ((err as { code?: unknown }).code === "TOPIC_NOT_FOUND") return [];
    throw err;
  } finally {
    await broker.close();
  }
}

/** What a message is, for comparing two clusters (the fields a restore must keep). */
const same = (m: StoredMessage) => ({
  topic: m.topic, offset: m.offset, index: m.index, id: m.id, timestamp: m.timestamp, priority: m.priority,
  headers: m.headers, payload: Buffer.from(m.payload).toString("base64"),
});

async function consume(client: RaftbusClient, pattern: string, name: string, count: number, settle: "ack" | "fail", extra: { maxRetries?: number } = {}): Promise<number[]> {
  const sub = await client.subscribe(pattern, { name, from: "earliest", guarantee: "at-least-once", maxInFlight: count, ...extra });
  const offsets: number[] = [];
  for await (const msg of sub) {
    offsets.push(msg.offset);
    if (settle === "ack") await msg.ack();
    else await msg.fail("cannot process");
    if (offsets.length === count) break;
  }
  return offsets;
}

describe("backup and restore", () => {
  it("a backup taken under load restores into a new cluster holding exactly the source's state at the backup's index", async () => {
    source = await LocalCluster.start({ nodes: 3, env: ENV });
    const work = join(source.root, "backups");
    const file = join(source.root, "cluster.rbk");
    const client = await connect({ servers: source.servers(), timeoutMs: 15_000 });
    clients.push(client);

    // Durable state that must survive: a subscription 5 messages in, and a dead letter.
    for (let i = 0; i < 5; i++) await client.publish("orders", { order: i }, { id: `order-${i}` });
    expect(await consume(client, "orders", "billing", 5, "ack")).toEqual([0, 1, 2, 3, 4]);
    await waitFor("the 5 acks applied", async () => ((await client.subscriptions.list()).find((s) => s.id === "billing")?.acked === 5 ? true : undefined), 15_000);
    await client.publish("jobs", { job: "broken" }, { id: "job-0" });
    expect(await consume(client, "jobs", "worker", 1, "fail", { maxRetries: 0 })).toEqual([0]);
    await waitFor("the dead letter", async () => ((await client.dlq.list("jobs")).length === 1 ? true : undefined), 15_000);

    // Publishers keep writing while the backup streams.
    let stop = false;
    let published = 0;
    const load = TOPICS.map(async (topic) => {
      for (let i = 0; !stop; i++) {
        await client.publish(topic, { topic, i, pad: "p".repeat(200) }, { id: `${topic}-${i}`, headers: { n: String(i) } });
        published++;
      }
    });
    // Enough for the checks below (each topic gets about a third), and the backup then starts mid-stream.
    await waitFor("publish load running", () => (published >= 90 ? true : undefined), 30_000, 20);
    const created = await cli(["backup", "create", file, "--servers", source.servers().join(","), "--json"]);
    const publishedAtEnd = published;
    await waitFor("more publishes after the backup", () => (published >= publishedAtEnd + 30 ? true : undefined), 30_000, 20);
    stop = true;
    await Promise.all(load);
    expect(created.code, created.stderr).toBe(0);
    const made = JSON.parse(created.stdout) as { index: number; bytes: number; topicCount: number };
    expect(existsSync(`${file}.partial`)).toBe(false);

    const verified = await cli(["backup", "verify", file, "--json"]);
    expect(verified.code, verified.stderr).toBe(0);
    const summary = JSON.parse(verified.stdout) as { index: number; clusterId: string; topics: { name: string; messages: number; dlq: number }[]; subscriptions: number };
    expect(summary.index).toBe(made.index);
    expect(summary.clusterId).toBe("raftbus");
    expect(summary.subscriptions).toBe(2);
    expect(summary.topics.find((t) => t.name === "jobs")?.dlq).toBe(1);

    // A damaged copy: refused by verify and by restore, which writes nothing.
    const bad = join(source.root, "damaged.rbk");
    copyFileSync(file, bad);
    const bytes = readFileSync(bad);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] as number) ^ 0x01;
    writeFileSync(bad, bytes);
    const badVerify = await cli(["backup", "verify", bad]);
    expect(badVerify.code).toBe(3);
    expect(badVerify.stderr).toMatch(/BACKUP_INVALID/);
    const badRestore = await cli(["restore", bad, "--data-dir", work, "--cluster-id", "restored", "--peers", "n1=127.0.0.1:1:2"]);
    expect(badRestore.code).toBe(3);
    expect(badRestore.stderr).toMatch(/BACKUP_INVALID/);
    expect(existsSync(work) ? readdirSync(work) : []).toEqual([]);

    // The source at the backup's index: what its replicas hold with index ≤ the backup's.
    for (const n of source.nodes) await source.stop(n);
    const expected = new Map<string, ReturnType<typeof same>[]>();
    for (const topic of [...TOPICS, "jobs"]) {
      const replicas = await Promise.all(source.nodes.map((n) => messagesOffline(n.dataDir, topic)));
      const atBackup = replicas.map((all) => all.filter((m) => m.index <= made.index).map(same));
      for (const r of atBackup) expect(r, `${topic}: the source's replicas agree`).toEqual(atBackup[0]);
      expected.set(topic, atBackup[0] ?? []);
      if (topic !== "jobs") expect(replicas.some((all) => all.some((m) => m.index > made.index)), `${topic} got writes after the backup`).toBe(true);
    }
    for (const t of summary.topics) if (expected.has(t.name)) expect(t.messages, t.name).toBe(expected.get(t.name)?.length);

    // A new cluster (new id, new ports) seeded from the file.
    restored = await LocalCluster.start({
      nodes: 3, env: ENV, extraArgs: ["--cluster-id", "restored"],
      beforeStart: async (c) => {
        const r = await cli(["restore", file, "--data-dir", c.root, "--cluster-id", "restored", "--peers", c.peers()]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`at index ${made.index} into cluster "restored"`));
      },
    });
    const again = await connect({ servers: restored.servers(), timeoutMs: 15_000 });
    clients.push(again);
    for (const topic of [...TOPICS, "jobs"]) {
      const want = expected.get(topic) ?? [];
      const info = await again.topics.info(topic);
      expect(info.messages, topic).toBe(want.length);
    }
    // The subscription resumes where the source's was: after the 5 acked orders, in order.
    const orders = expected.get("orders") ?? [];
    expect(orders.length).toBeGreaterThanOrEqual(25);
    const resumed = await consume(again, "orders", "billing", 20, "ack");
    expect(resumed).toEqual(orders.slice(5, 25).map((m) => m.offset));
    const dead = await again.dlq.list("jobs");
    expect(dead.map((d) => [d.message.id, d.subscription])).toEqual([["job-0", "worker"]]);
    // And it takes writes of its own, after the restored offsets.
    const next = await again.publish("orders", { after: "restore" });
    expect(next.offset).toBe(orders.length);

    // Every replica holds exactly the source's messages at the backup's index.
    await again.close();
    for (const n of restored.nodes) await restored.stop(n);
    for (const n of restored.nodes) {
      for (const topic of [...TOPICS, "jobs"]) {
        const got = (await messagesOffline(n.dataDir, topic)).filter((m) => m.index <= made.index).map(same);
        expect(got, `${n.id} ${topic}`).toEqual(expected.get(topic));
      }
    }
    rmSync(work, { recursive: true, force: true });
  }, 120_000);
});

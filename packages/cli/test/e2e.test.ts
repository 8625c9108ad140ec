/**
 * The `raftbus` CLI end to end: a real three-node cluster (child processes),
 * the CLI as a child process for every command, table and `--json` output,
 * and bad input with its message and exit code. Independent invocations run
 * in parallel to keep the file's wall time down; E2E_TIMING=1 prints how long
 * each invocation took.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "@raftbus/client/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT } from "../src/util/exit-codes.ts";
import { runCli, startCluster, type CliResult, type TestCluster } from "./helpers/cluster.ts";

let cluster: TestCluster | undefined;

/** `raftbus <args> --servers <the test cluster>`. */
function rb(...args: string[]): Promise<CliResult> {
  if (cluster === undefined) throw new Error("cluster not started");
  return runCli([...args, "--servers", cluster.servers]).then((r) => {
    if (process.env["E2E_TIMING"] === "1") process.stderr.write(`[${r.ms} ms] raftbus ${args.join(" ")}\n`);
    return r;
  });
}

/** Like {@link rb}, with stdin. */
function rbStdin(stdin: string, ...args: string[]): Promise<CliResult> {
  if (cluster === undefined) throw new Error("cluster not started");
  return runCli([...args, "--servers", cluster.servers], { stdin });
}

/** Assert a run succeeded, showing its output when it did not. */
function ok(r: CliResult): CliResult {
  expect(r.code, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(EXIT.OK);
  return r;
}

function json<T = Record<string, unknown>>(r: CliResult): T {
  return JSON.parse(ok(r).stdout) as T;
}

function jsonLines(r: CliResult): Record<string, unknown>[] {
  return ok(r).stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
}

beforeAll(async () => {
  cluster = await startCluster(3, 80_000);
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
}, 30_000);

describe("raftbus CLI against a local cluster", () => {
  it("cluster status: table, --json and --watch", async () => {
    const [table, doc, watch, watchJson] = await Promise.all([
      rb("cluster", "status"),
      rb("cluster", "status", "--json"),
      rb("cluster", "status", "--watch", "300ms", "--watch-count", "2"),
      rb("cluster", "status", "--json", "--watch", "300ms", "--watch-count", "2"),
    ]);
    const lines = ok(table).stdout.split("\n");
    // A node slower than the status fan-out deadline on a loaded machine shows as down: only the leader's row is certain.
    expect(lines[0]).toMatch(/^leader n[123] · term \d+ · commit \d+ · [1-3]\/3 nodes up \(as seen by n[123]\)$/);
    // A fresh cluster's first leader sets the cluster version by itself (issue 16 part 3).
    expect(lines[1]).toMatch(/^cluster version (\d+|not set yet \(fresh cluster\))$/);
    expect(lines[3]).toMatch(/^NODE\s+ROLE\s+TERM\s+COMMIT\s+APPLIED\s+DIGEST\s+MATCH\s+LAG\s+LAST CONTACT\s+HEALTH\s+ADDRESS$/);
    // Each node's applied index and digest, and one verdict compared at one index (SPEC §5).
    expect(lines.filter((l) => /^n[123]\*?\s+leader\s+\d+\s+\d+\s+\d+\s+[0-9a-f]{12}\s/.test(l))).toHaveLength(1);
    expect(lines).toContainEqual(expect.stringMatching(/^replicas agree at index \d+ \(digest [0-9a-f]{12}; n[123](, n[123])*\)/));
    expect(lines.filter((l) => /^n[123]\*?\s+(leader|follower|unknown)\s+/.test(l))).toHaveLength(3);
    expect(lines.filter((l) => /\bleader\b.*\bok\b/.test(l))).toHaveLength(1);

    const st = json<{ leaderId: string; nodes: { id: string; role: string; healthy: boolean; stateDigest?: string }[]; agreement?: { agree: boolean | null } }>(doc);
    expect(st.agreement?.agree).toBe(true);
    expect(st.nodes.find((n) => n.id === st.leaderId)?.stateDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(st.nodes.map((n) => n.id)).toEqual(["n1", "n2", "n3"]);
    expect(st.nodes.filter((n) => n.role === "leader").map((n) => n.id)).toEqual([st.leaderId]);
    expect(st.nodes.find((n) => n.id === st.leaderId)?.healthy).toBe(true);

    expect(ok(watch).stdout.match(/^every 300ms · .* · Ctrl-C to stop$/gm)).toHaveLength(2);
    const refreshes = jsonLines(watchJson);
    expect(refreshes).toHaveLength(2);
    expect(refreshes.every((r) => typeof r["time"] === "string" && Array.isArray(r["nodes"]))).toBe(true);
  });

  it("topic create, list, info, delete: table and --json", async () => {
    const [created, createdJson] = await Promise.all([
      rb("topic", "create", "demo", "--max-messages", "10000", "--max-age", "2h", "--max-bytes", "50MB"),
      rb("topic", "create", "e2e.del", "--json"),
    ]);
    expect(ok(created).stdout).toBe("created topic demo (retention: max 10000 messages, 2h, 50 MB)\n");
    expect(json(createdJson)).toMatchObject({ name: "e2e.del", retention: {}, messages: 0, firstOffset: null, lastOffset: null });

    const [list, listJson, info, infoJson, again, delNoYes] = await Promise.all([
      rb("topic", "list"),
      rb("topic", "list", "--json"),
      rb("topic", "info", "demo"),
      rb("topic", "describe", "demo", "--json"),
      rb("topic", "create", "demo"),
      rb("topic", "delete", "e2e.del"),
    ]);
    expect(ok(list).stdout).toMatch(/^NAME\s+MESSAGES\s+SIZE\s+OFFSETS\s+RETENTION\s+CREATED\n/);
    expect(list.stdout).toMatch(/^demo\s+0\s+0 B\s+none yet\s+max 10000 messages, 2h, 50 MB\s+/m);
    expect(json<{ name: string }[]>(listJson).map((t) => t.name)).toEqual(expect.arrayContaining(["demo", "e2e.del"]));
    expect(ok(info).stdout).toMatch(/^topic:\s+demo$/m);
    expect(info.stdout).toMatch(/^retention:\s+max 10000 messages, 2h, 50 MB$/m);
    expect(info.stdout).toContain("no subscriptions; try `raftbus sub demo`");
    expect(json(infoJson)).toMatchObject({ name: "demo", retention: { maxMessages: 10000, maxAgeMs: 7_200_000, maxBytes: 50_000_000 }, subscriptions: [] });
    expect(again.code).toBe(EXIT.FAILED);
    expect(again.stderr).toContain("raftbus: TOPIC_EXISTS:");
    expect(again.stderr).toContain("see it with `raftbus topic info demo`");
    expect(delNoYes.code).toBe(EXIT.USAGE);
    expect(delNoYes.stderr).toContain("refusing without --yes");

    expect(json(await rb("topic", "delete", "e2e.del", "--yes", "--json"))).toEqual({ topic: "e2e.del", messagesRemoved: 0 });
  });

  it("pub (argument, file, stdin, --count) and sub (table, --json, --filter)", async () => {
    const file = join(cluster?.dataDir ?? ".", "payload.json");
    writeFileSync(file, JSON.stringify({ source: "file" }));
    const [plain, withOptions, fromFile, fromStdin, batch, durablePub] = await Promise.all([
      rb("pub", "demo", "hello"),
      rb("pub", "demo", "{\"usage\":95,\"host\":\"db1\"}", "--priority", "high", "--header", "host=db1", "--header", "env=prod", "--ttl", "5m", "--id", "alert-1", "--json"),
      rb("pub", "demo", "--file", file),
      rbStdin("from stdin", "pub", "demo"),
      rb("pub", "e2e.batch", "event {{.Count}}", "--count", "200", "--json"),
      rb("pub", "e2e.durable", "msg {{.Count}}", "--count", "2"),
    ]);
    expect(ok(durablePub).stdout).toMatch(/^published 2 of 2 message\(s\) to e2e\.durable in .*offsets 0–1\)\n$/);
    expect(ok(plain).stdout).toMatch(/^published to demo: offset \d, index \d+\n$/);
    expect(json(withOptions)).toMatchObject({ topic: "demo", duplicate: false });
    expect(ok(fromFile).stdout).toMatch(/^published to demo: offset \d/);
    expect(ok(fromStdin).stdout).toMatch(/^published to demo: offset \d/);
    expect(json(batch)).toMatchObject({ topic: "e2e.batch", count: 200, published: 200, failed: 0, firstOffset: 0, lastOffset: 199 });

    const [dup, subJson, subHuman, filtered, batchSub, durable] = await Promise.all([
      rb("pub", "demo", "again", "--id", "alert-1"),
      rb("sub", "demo", "--from", "earliest", "--count", "4", "--json", "--no-ack"),
      rb("sub", "demo", "--from", "earliest", "--count", "1"),
      rb("sub", "demo", "--from", "earliest", "--filter", "usage > 90", "--count", "1", "--json"),
      rb("sub", "e2e.batch", "--from", "earliest", "--count", "200", "--json"),
      rb("sub", "e2e.durable", "--name", "e2e-durable", "--from", "earliest", "--count", "2", "--json"),
    ]);
    expect(jsonLines(durable).map((m) => m["payload"])).toEqual(["msg 1", "msg 2"]);
    expect(ok(dup).stdout).toMatch(/^duplicate: already stored in demo at offset \d/);

    const messages = jsonLines(subJson);
    expect(messages).toHaveLength(4);
    // Priority dispatch: the high-priority message first.
    expect(messages[0]).toMatchObject({ topic: "demo", priority: "high", id: "alert-1", ttlMs: 300_000, headers: { host: "db1", env: "prod" }, payload: { usage: 95, host: "db1" }, payloadEncoding: "json" });
    expect(messages.map((m) => m["payload"])).toEqual(expect.arrayContaining(["hello", "from stdin", { source: "file" }]));

    expect(ok(subHuman).stdout).toMatch(/^\[#1\] {2}demo @ \d {2}high {2}\S+Z {2}id alert-1 {2}ttl 5m\nhost: db1\nenv: prod\n\n\{\n {2}"usage": 95,\n {2}"host": "db1"\n\}\n\n$/);
    expect(jsonLines(filtered)).toEqual([expect.objectContaining({ payload: { usage: 95, host: "db1" } })]);
    const events = jsonLines(batchSub).map((m) => m["payload"]);
    expect(new Set(events)).toEqual(new Set(Array.from({ length: 200 }, (_, i) => `event ${i + 1}`)));
  });

  it("dlq list/replay/purge, maintenance, stats, subscription list", async () => {
    const [dlqPub, durablePub] = await Promise.all([rb("pub", "e2e.dlq", "{\"job\":1}", "--max-retries", "0"), rb("pub", "e2e.durable", "msg 3")]);
    ok(dlqPub);
    ok(durablePub);
    // Dead-letter it: a durable subscriber fails it once and retries are exhausted.
    const t0 = Date.now();
    const client = await connect({ servers: cluster?.servers ?? "", timeoutMs: 10_000 });
    try {
      const sub = await client.subscribe("e2e.dlq", { name: "e2e-dlq-worker", from: "earliest", maxRetries: 0 });
      for await (const msg of sub) {
        await msg.fail("cannot process job 1");
        break;
      }
    } finally {
      await client.close();
    }
    if (process.env["E2E_TIMING"] === "1") process.stderr.write(`[${Date.now() - t0} ms] SDK fail\n`);

    const [list, listJson, cleanup, compact, retry, stats, statsJson, subs, subsJson, resumed] = await Promise.all([
      rb("dlq", "list", "e2e.dlq"),
      rb("dlq", "list", "e2e.dlq", "--json"),
      rb("maintenance", "cleanup"),
      rb("maintenance", "compact", "--json"),
      rb("maintenance", "retry-failed"),
      rb("stats"),
      rb("stats", "--json"),
      rb("subscription", "list"),
      rb("subs", "ls", "--json"),
      // The durable subscription resumes after what it acked before.
      rb("sub", "e2e.durable", "--name", "e2e-durable", "--from", "earliest", "--count", "1", "--json"),
    ]);
    expect(jsonLines(resumed).map((m) => m["payload"])).toEqual(["msg 3"]);
    expect(ok(list).stdout).toMatch(/^ID\s+OFFSET\s+SUBSCRIPTION\s+ATTEMPTS\s+REASON\s+DEAD\s+PAYLOAD\n\s*\d+\s+0\s+e2e-dlq-worker\s+\d+\s+cannot process job 1\s+.*\{"job":1\}\n/);
    const letters = json<{ dlqId: number; reason: string; message: { payload: unknown } }[]>(listJson);
    expect(letters).toEqual([expect.objectContaining({ subscription: "e2e-dlq-worker", reason: "cannot process job 1", message: expect.objectContaining({ payload: { job: 1 } }) })]);
    expect(ok(cleanup).stdout).toMatch(/^cleanup: \d+ expired message\(s\) removed in \d/);
    expect(json(compact)).toMatchObject({ kind: "compact", affected: expect.any(Number) });
    expect(ok(retry).stdout).toMatch(/^retry-failed: \d+ message\(s\) re-queued in \d/);
    expect(ok(stats).stdout).toMatch(/^topics:\s+\d+\n/);
    expect(stats.stdout).toMatch(/^NODE\s+ROLE\s+HEALTH\s+APPLIED\s+LAST CONTACT$/m);
    expect(json(statsJson)).toMatchObject({ topics: expect.any(Number), nodes: expect.arrayContaining([expect.objectContaining({ role: "leader" })]) });
    expect(ok(subs).stdout).toMatch(/^e2e-dlq-worker\s+yes\s+e2e\.dlq\s+at-least-once/m);
    expect(json<{ id: string }[]>(subsJson).map((s) => s.id)).toContain("e2e-dlq-worker");

    const id = String(letters[0]?.dlqId);
    expect(json(await rb("dlq", "replay", "e2e.dlq", "--id", id, "--json"))).toEqual({ topic: "e2e.dlq", replayed: 1 });
    expect(ok(await rb("dlq", "purge", "e2e.dlq", "--yes")).stdout).toMatch(/^purged \d+ dead letter\(s\) of e2e\.dlq\n$/);
  });

  it("bad input: unknown topic, bad duration, bad filter, unreachable servers, timeouts", async () => {
    const [unknownTopic, badDuration, badFilter, unreachable, idle, slow, unknownCommand] = await Promise.all([
      rb("topic", "info", "nope"),
      rb("pub", "demo", "x", "--ttl", "5x"),
      rb("sub", "demo", "--filter", "a =="),
      runCli(["topic", "list", "--servers", "ws://127.0.0.1:1"]),
      rb("sub", "e2e.empty", "--count", "2", "--timeout", "500ms"),
      rb("cluster", "status", "--timeout", "1ms"),
      rb("topics", "list"),
    ]);
    expect(unknownTopic.code).toBe(EXIT.FAILED);
    expect(unknownTopic.stderr).toBe("raftbus: TOPIC_NOT_FOUND: topic 'nope' does not exist\n  topic nope does not exist; create it with `raftbus topic create nope` (see them all with `raftbus topic list`)\n");
    expect(badDuration.code).toBe(EXIT.USAGE);
    expect(badDuration.stderr).toContain("raftbus: --ttl: \"5x\" is not a duration; use a number and a unit: 500ms, 30s, 5m, 2h, 1d");
    expect(badFilter.code).toBe(EXIT.FAILED);
    expect(badFilter.stderr.split("\n").slice(0, 3)).toEqual([expect.stringMatching(/^raftbus: INVALID_FILTER: .* at 4/), "  a ==", "      ^"]);
    expect(unreachable.code).toBe(EXIT.UNREACHABLE);
    expect(unreachable.stderr).toContain("raftbus: no raftbus server reachable at ws://127.0.0.1:1 (ECONNREFUSED)");
    expect(unreachable.stderr).toContain("is the cluster running? start one with `pnpm start`");
    expect(idle.code).toBe(EXIT.TIMEOUT);
    expect(idle.stderr).toContain("raftbus: TIMEOUT: received 0 of 2 message(s); none arrived for 500ms");
    expect(slow.code).toBe(EXIT.TIMEOUT);
    expect(slow.stderr).toContain("raftbus: TIMEOUT:");
    expect(unknownCommand.code).toBe(EXIT.USAGE);
    expect(unknownCommand.stderr).toContain("Did you mean topic?");
    for (const r of [unknownTopic, badDuration, badFilter, unreachable, idle, slow, unknownCommand]) expect(r.stdout).toBe("");
  });

  it("cluster add-node, remove-node, transfer-leader", async () => {
    const added = await rb("cluster", "add-node", "n9", "--peer", "127.0.0.1:1", "--client", "127.0.0.1:2", "--learner");
    expect(ok(added).stdout).toMatch(/^added n9 as a learner \(configuration committed at index \d+\)\n/);
    expect(added.stdout).toMatch(/^n9\s+no \(learner\)\s+127\.0\.0\.1:1\s+ws:\/\/127\.0\.0\.1:2$/m);
    const removed = json<{ members: { id: string }[] }>(await rb("cluster", "remove-node", "n9", "--json"));
    expect(removed.members.map((m) => m.id)).toEqual(["n1", "n2", "n3"]);

    // Leadership moves (the leader may also change by itself on a loaded machine, so compare the answer with itself).
    const moved = json<{ from: string; to: string }>(await rb("cluster", "transfer-leader", "--json"));
    expect(moved.from).toMatch(/^n[123]$/);
    expect(moved.to).not.toBe(moved.from);
    const back = await rb("cluster", "transfer-leader", moved.from);
    expect(ok(back).stdout).toMatch(new RegExp(`^(leadership moved from n[123] to ${moved.from}|${moved.from} is the leader already)\n$`));
    const notVoter = await rb("cluster", "transfer-leader", "n9");
    expect(notVoter.code).toBe(EXIT.FAILED);
    expect(notVoter.stderr).toContain("INVALID_ARGUMENT");
  });
});

/**
 * Broker benchmarks (issue 4 "Done when"):
 *   1. apply throughput: published messages per second into LevelDB, 128-byte
 *      payloads, batches of 100 messages per entry;
 *   2. subscription match time with 10,000 wildcard subscriptions, for the
 *      index alone and for publishing through the whole state machine.
 *
 * Run: pnpm tsx scripts/bench/broker-apply.ts [--messages 200000] [--json]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  BrokerStateMachine, SubscriptionIndex, compilePattern, encodeCommand,
} from "../../packages/broker/src/index.ts";
import type { Command } from "../../packages/broker/src/index.ts";
import type { Entry } from "../../packages/broker/src/raft-api.ts";

const args = process.argv.slice(2);
const MESSAGES = Number(argValue("--messages") ?? 200_000);
const JSON_OUT = args.includes("--json");
const BATCH = 100;
const PAYLOAD = new Uint8Array(128).fill(0x61);
const SUBSCRIPTIONS = 10_000;
const T0 = 1_700_000_000_000;

function argValue(name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** A broker in a fresh temporary directory that applies commands as consecutive entries. */
class Bench {
  index = 0;
  now = T0;
  private constructor(readonly bsm: BrokerStateMachine, readonly dir: string) {}
  static async open(): Promise<Bench> {
    const dir = await mkdtemp(join(tmpdir(), "raftbus-bench-"));
    return new Bench(await BrokerStateMachine.open(dir), dir);
  }
  entries(commands: readonly Command[]): Entry[] {
    return commands.map((c) => ({ index: ++this.index, term: 1, type: "normal" as const, data: encodeCommand(c) }));
  }
  async destroy(): Promise<void> {
    await this.bsm.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

let idCounter = 0;
function publishBatch(b: Bench, topicOf: (i: number) => string, clientIds: boolean): Command {
  b.now += 1;
  return b.bsm.buildPublish({
    now: b.now, senderId: "bench",
    newId: () => `g${idCounter++}`,
    messages: Array.from({ length: BATCH }, (_, i) => ({
      topic: topicOf(i), payload: PAYLOAD, ...(clientIds ? { id: `c${idCounter++}` } : {}),
    })),
  });
}

interface ApplyResult {
  readonly name: string;
  readonly messages: number;
  readonly seconds: number;
  readonly messagesPerSecond: number;
}

/** Applies MESSAGES messages in entries of BATCH, `perApply` entries per apply() call (pre-encoded). */
async function applyThroughput(name: string, setup: (b: Bench) => Promise<void>, topicOf: (i: number) => string, opts: { perApply: number; clientIds: boolean }): Promise<ApplyResult> {
  const b = await Bench.open();
  try {
    await setup(b);
    const entries = b.entries(Array.from({ length: Math.ceil(MESSAGES / BATCH) }, () => publishBatch(b, topicOf, opts.clientIds)));
    const start = performance.now();
    for (let i = 0; i < entries.length; i += opts.perApply) await b.bsm.apply(entries.slice(i, i + opts.perApply));
    const seconds = (performance.now() - start) / 1000;
    const messages = entries.length * BATCH;
    return { name, messages, seconds, messagesPerSecond: messages / seconds };
  } finally {
    await b.destroy();
  }
}

async function subscribeMany(b: Bench, patterns: readonly string[]): Promise<void> {
  for (let i = 0; i < patterns.length; i += 500) {
    const cmds: Command[] = patterns.slice(i, i + 500).map((pattern, j) => ({
      type: "createSubscription", now: b.now,
      subscription: b.bsm.subscriptionSpec({ name: `sub-${i + j}`, pattern, start: "latest" }),
    }));
    await b.bsm.apply(b.entries(cmds));
  }
}

/** 10,000 wildcard patterns over a `site.<n>.<kind>` topic space; each topic matches a handful. */
function wildcardPatterns(): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < SUBSCRIPTIONS; i++) {
    const n = i % 2500;
    const shape = Math.floor(i / 2500) % 4;
    out.push(shape === 0 ? `site.${n}.*` : shape === 1 ? `site.${n}.**` : shape === 2 ? `*.${n}.temp` : `site.*.kind${n}`);
  }
  return out;
}

function matchTiming(): { perMatchMicros: number; avgMatches: number; lookups: number } {
  const index = new SubscriptionIndex<number>();
  wildcardPatterns().forEach((p, i) => index.add(`sub-${i}`, compilePattern(p), i));
  const topics = Array.from({ length: 1000 }, (_, i) => `site.${(i * 7) % 2500}.${i % 2 === 0 ? "temp" : `kind${i % 2500}`}`);
  let matched = 0;
  for (const t of topics) matched += index.match(t).length; // warm-up
  const lookups = 200_000;
  matched = 0;
  const start = performance.now();
  for (let i = 0; i < lookups; i++) matched += index.match(topics[i % topics.length] as string).length;
  const micros = ((performance.now() - start) * 1000) / lookups;
  return { perMatchMicros: micros, avgMatches: matched / lookups, lookups };
}

async function main(): Promise<void> {
  const results: ApplyResult[] = [];
  const log = (r: ApplyResult): void => {
    results.push(r);
    if (!JSON_OUT) console.log(`${r.name.padEnd(64)} ${Math.round(r.messagesPerSecond).toLocaleString("en-US").padStart(10)} msg/s  (${r.messages} msgs in ${r.seconds.toFixed(2)} s)`);
  };
  if (!JSON_OUT) console.log(`broker apply throughput: ${MESSAGES} messages, ${PAYLOAD.length}-byte payloads, ${BATCH} messages per entry\n`);
  const none = async (): Promise<void> => undefined;
  log(await applyThroughput("1 topic, no subscriptions, 1 entry per apply()", none, () => "bench.t", { perApply: 1, clientIds: false }));
  log(await applyThroughput("1 topic, no subscriptions, 10 entries per apply()", none, () => "bench.t", { perApply: 10, clientIds: false }));
  log(await applyThroughput("1 topic, client ids (dedup lookups), 1 entry per apply()", none, () => "bench.t", { perApply: 1, clientIds: true }));
  log(await applyThroughput("10 topics, 2 subscriptions each (fan-out), 1 entry per apply()", async (b) => {
    await subscribeMany(b, ["bench.*", "bench.**"]);
  }, (i) => `bench.t${i % 10}`, { perApply: 1, clientIds: false }));
  log(await applyThroughput("retention maxMessages 10,000 (steady-state removal), 1 entry/apply", async (b) => {
    await b.bsm.apply(b.entries([{ type: "createTopic", now: b.now, topic: "bench.t", retention: { maxMessages: 10_000 } }]));
  }, () => "bench.t", { perApply: 1, clientIds: false }));
  log(await applyThroughput(`${SUBSCRIPTIONS.toLocaleString("en-US")} wildcard subscriptions, topics matching ~2 each, 1 entry/apply`, async (b) => {
    await subscribeMany(b, wildcardPatterns());
  }, (i) => `site.${(i * 37) % 2500}.${i % 2 === 0 ? "temp" : "humidity"}`, { perApply: 1, clientIds: false }));

  const match = matchTiming();
  if (!JSON_OUT) {
    console.log(`\nsubscription match, ${SUBSCRIPTIONS.toLocaleString("en-US")} wildcard subscriptions (SubscriptionIndex.match): ` +
      `${match.perMatchMicros.toFixed(2)} µs per topic lookup, ${match.avgMatches.toFixed(2)} matches on average (${match.lookups.toLocaleString("en-US")} lookups)`);
  } else {
    console.log(JSON.stringify({ apply: results, match }, null, 2));
  }
}

await main();

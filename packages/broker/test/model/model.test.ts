/**
 * Model-based test (STYLE.md practice 12): random sequences of publish,
 * subscribe, deliver, ack, fail, time passing, retention changes, topic
 * deletion, DLQ replay and restarts, applied to the real broker and to the
 * naive model of model.ts; deliveries, offsets, retention results, DLQ
 * contents, dedup answers and queue states must agree after every step.
 *
 * Default: a quick run. RAFTBUS_BROKER_MODEL_RUNS / _OPS for a heavy run;
 * RAFTBUS_BROKER_MODEL_SEED to replay a failure (the seed is printed).
 */
import type { Guarantee } from "@raftbus/client/protocol";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { deliverCommand } from "../../src/index.ts";
import type { PublishOutcome, ResultOf } from "../../src/index.ts";
import { Harness, json } from "../helpers/harness.ts";
import { Model, PRIOS } from "./model.ts";
import type { MPublishInput, MSubSpec } from "./model.ts";

const RUNS = Number(process.env["RAFTBUS_BROKER_MODEL_RUNS"] ?? 30);
const OPS = Number(process.env["RAFTBUS_BROKER_MODEL_OPS"] ?? 50);
// Chosen here, not by fast-check, so that it is in the test's name: a run that times out prints no fast-check report.
const SEED = Number(process.env["RAFTBUS_BROKER_MODEL_SEED"] ?? Math.floor(Math.random() * 2 ** 31));
const DEDUP_WINDOW_MS = 3000;

const TOPICS = ["a", "b", "a.x"];
const PATTERNS = ["a", "a.*", "**"];
const SUBS = ["s0", "s1", "s2"];
const CONSUMERS = ["c0", "c1", "c2"];
const GUARANTEES: Guarantee[] = ["at-most-once", "at-least-once", "exactly-once"];

type Op =
  | { k: "publish"; dt: number; msgs: { topic: number; prio: number; g: number; id: number | null; ttl: number | null; prod: number | null; n: number; size: number }[] }
  | { k: "subscribe"; dt: number; sub: number; pattern: number; g: number; start: number; maxInFlight: number; maxRetries: number; filter: boolean }
  | { k: "deliver"; dt: number; credits: [number, number, number][]; max: number } // [sub, consumer, credit]
  | { k: "rawDeliver"; dt: number; sub: number; topic: number; offset: number; attempt: number }
  | { k: "ack"; dt: number; sub: number; pick: number }
  | { k: "fail"; dt: number; sub: number; pick: number; withAttempt: boolean }
  | { k: "tick"; dt: number }
  | { k: "retention"; dt: number; topic: number; kind: number; value: number }
  | { k: "deleteTopic"; dt: number; topic: number }
  | { k: "dlqReplay"; dt: number; topic: number; limit: number }
  | { k: "restart"; dt: number };

// Round steps hit deadlines, TTLs and windows exactly (boundary conditions); random ones do not.
const dt = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(0, 50, 100, 200, 300, 500, 1000) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 400 }) },
  { weight: 1, arbitrary: fc.constantFrom(2000, 3000) },
  { weight: 1, arbitrary: fc.integer({ min: 400, max: 3000 }) },
);
const subscribeArb = fc.record({
  k: fc.constant("subscribe" as const), dt, sub: fc.nat(2), pattern: fc.nat(2), g: fc.nat(2), start: fc.nat(3),
  maxInFlight: fc.integer({ min: 1, max: 4 }), maxRetries: fc.nat(2), filter: fc.boolean(),
});
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({
    k: fc.constant("publish" as const), dt,
    msgs: fc.array(fc.record({
      topic: fc.nat(2), prio: fc.nat(3), g: fc.nat(2),
      id: fc.option(fc.nat(4)), ttl: fc.option(fc.oneof(fc.constantFrom(100, 500, 1000, 3000), fc.integer({ min: 100, max: 3000 })), { freq: 3 }),
      prod: fc.option(fc.nat(3), { freq: 3 }), n: fc.nat(9), size: fc.integer({ min: 1, max: 40 }),
    }), { minLength: 1, maxLength: 4 }),
  }) },
  { weight: 1, arbitrary: subscribeArb },
  { weight: 8, arbitrary: fc.record({
    k: fc.constant("deliver" as const), dt,
    credits: fc.array(fc.tuple(fc.nat(2), fc.nat(2), fc.integer({ min: 0, max: 4 })), { minLength: 2, maxLength: 6 }), max: fc.integer({ min: 1, max: 12 }),
  }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("rawDeliver" as const), dt, sub: fc.nat(2), topic: fc.nat(2), offset: fc.nat(6), attempt: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("ack" as const), dt, sub: fc.nat(2), pick: fc.nat(10) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("fail" as const), dt, sub: fc.nat(2), pick: fc.nat(10), withAttempt: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("tick" as const), dt }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("retention" as const), dt, topic: fc.nat(2), kind: fc.nat(2), value: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("deleteTopic" as const), dt, topic: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("dlqReplay" as const), dt, topic: fc.nat(2), limit: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("restart" as const), dt }) },
);

const BACKOFF = { initialMs: 200, maxMs: 2000, multiplier: 3 };

/** What the runs exercised: checked at the end so the test cannot pass vacuously. */
const seen = new Map<string, number>();
const see = (what: string, n = 1): void => {
  if (n > 0) seen.set(what, (seen.get(what) ?? 0) + n);
};

let h: Harness | undefined;
afterEach(async () => {
  await h?.destroy();
  h = undefined;
});

describe("model-based: broker vs naive reference model", () => {
  it(`${RUNS} random runs of up to ${OPS} operations agree (RAFTBUS_BROKER_MODEL_SEED=${SEED})`, async () => {
    const params: fc.Parameters<[Op[]]> = { numRuns: RUNS, seed: SEED };
    try {
      // Every run starts by declaring the three subscriptions, then does random things.
      const prologue = fc.tuple(...SUBS.map((_, i) => subscribeArb.map((op) => ({ ...op, sub: i }))));
      const run = fc.tuple(prologue, fc.array(opArb, { minLength: Math.ceil(OPS / 2), maxLength: OPS })).map(([p, rest]) => [...p, ...rest]);
      await fc.assert(fc.asyncProperty(run, async (ops) => {
        await h?.destroy();
        h = await Harness.open({ dedupWindowMs: DEDUP_WINDOW_MS });
        const model = new Model(DEDUP_WINDOW_MS);
        for (const [i, op] of ops.entries()) {
          h.advance(op.dt);
          await runOp(h, model, op, `op ${i} ${op.k}`);
          if (process.env["MODEL_DEBUG"]) console.log("op", i, JSON.stringify(op), JSON.stringify([...model.subs.keys()].map((n) => [n, model.subView(n)])));
          await compareState(h, model, `after op ${i} ${op.k}`);
        }
      }), params);
    } catch (err) {
      console.error(`model test failed; replay with RAFTBUS_BROKER_MODEL_SEED=${SEED} (the fast-check report names the failing run's path)`);
      throw err;
    }
    if (process.env["MODEL_DEBUG"]) console.log("exercised", JSON.stringify([...seen]));
    if (RUNS >= 30) {
      for (const what of ["duplicate", "retention", "redelivered", "fail:retry", "fail:dead-lettered", "timeout-dlq", "rejected", "priority-reorder", "work-queue", "acked-pending"]) {
        expect(seen.get(what) ?? 0, `the runs never exercised ${what}`).toBeGreaterThan(0);
      }
    }
  }, Math.max(120_000, RUNS * OPS * 25));
});

async function runOp(h: Harness, model: Model, op: Op, where: string): Promise<void> {
  const now = h.now;
  switch (op.k) {
    case "publish": {
      const inputs = op.msgs.map((m, i) => {
        const payload = padded(m.n, m.size);
        const input: MPublishInput = {
          topic: TOPICS[m.topic] as string, id: m.id === null ? `generated-${i}` : `id${m.id}`, idGenerated: m.id === null,
          priority: m.prio, guarantee: GUARANTEES[m.g] as Guarantee, ...(m.ttl !== null ? { ttlMs: m.ttl } : {}),
          ...(m.prod !== null ? { producer: "p", sequence: m.prod } : {}), n: m.n, size: payload.length,
        };
        return { input, payload };
      });
      const cmd = h.bsm.buildPublish({
        now, senderId: "x",
        messages: inputs.map(({ input: m, payload }) => ({
          topic: m.topic, payload, priority: PRIOS[m.priority], guarantee: m.guarantee,
          ...(m.idGenerated ? {} : { id: m.id }), ...(m.ttlMs !== undefined ? { ttlMs: m.ttlMs } : {}),
          ...(m.producer !== undefined ? { producerId: m.producer, sequence: m.sequence } : {}),
        })),
      });
      model.step(now);
      const want = model.publish(inputs.map((x) => x.input));
      const r = await h.ok(cmd);
      expect(r.results.map(outcome), `${where}: publish answers (offsets, dedup)`).toEqual(want);
      see("duplicate", want.filter((w) => w.duplicate).length);
      return;
    }
    case "subscribe": {
      const spec: MSubSpec = {
        name: SUBS[op.sub] as string, pattern: PATTERNS[op.pattern] as string, filter: op.filter, guarantee: GUARANTEES[op.g] as Guarantee,
        start: op.start === 0 ? "earliest" : op.start === 1 ? "latest" : op.start === 2 ? { offset: 1 } : { time: now - 1000 },
        maxInFlight: op.maxInFlight, ackTimeoutMs: 1000, maxRetries: op.maxRetries, backoff: BACKOFF,
      };
      const req = h.bsm.subscriptionSpec({
        name: spec.name, pattern: spec.pattern, guarantee: spec.guarantee, start: spec.start, maxInFlight: spec.maxInFlight,
        ackTimeoutMs: spec.ackTimeoutMs, maxRetries: spec.maxRetries, backoff: spec.backoff, ...(spec.filter ? { filter: "n > 5" } : {}),
      });
      model.step(now);
      const want = model.subscribe(spec);
      const r = await h.run({ type: "createSubscription", now, subscription: req });
      if (want === "conflict") expect(r, where).toMatchObject({ ok: false, error: { code: "INVALID_ARGUMENT" } });
      else expect(r, where).toMatchObject({ ok: true, created: want === "created" });
      return;
    }
    case "deliver": {
      const byKey = new Map<string, { subscription: string; consumerId: string; credit: number }>();
      for (const [s, c, credit] of op.credits) byKey.set(`${s}/${c}`, { subscription: SUBS[s] as string, consumerId: CONSUMERS[c] as string, credit });
      const consumers = [...byKey.values()];
      const batches = await h.bsm.dispatcher.nextDeliveries({ now, consumers, maxDeliveries: op.max });
      const plan = batches.map((b) => ({ subscription: b.subscription, items: b.items.map((i) => ({ topic: i.topic, offset: i.offset, attempt: i.attempt, consumerId: i.consumerId, priority: i.priority })) }));
      expect(plan, `${where}: dispatcher plan`).toEqual(model.plan(now, consumers, op.max));
      if (batches.length === 0) return;
      const cmd = deliverCommand(batches, now); // one entry for the whole round
      model.step(now);
      const want = model.deliver(cmd.delivered);
      const r = await h.ok(cmd);
      expect(deliverView(r), `${where}: deliver`).toEqual(want);
      const items = batches.flatMap((b) => b.items);
      see("redelivered", items.filter((i) => i.attempt > 1).length);
      see("delivered", items.length);
      for (const b of batches) {
        see("work-queue", new Set(b.items.map((i) => i.consumerId)).size > 1 ? 1 : 0);
        see("priority-reorder", b.items.some((i, j) => j > 0 && (b.items[j - 1]?.priority ?? "") !== i.priority) ? 1 : 0);
      }
      return;
    }
    case "rawDeliver": {
      const items = [{ subscription: SUBS[op.sub] as string, topic: TOPICS[op.topic] as string, offset: op.offset, attempt: op.attempt, consumerId: "raw" }];
      model.step(now);
      const want = model.deliver(items);
      const r = await h.ok({ type: "delivery", now, delivered: items, acked: [], failed: [] });
      expect(deliverView(r), `${where}: raw deliver`).toEqual(want);
      see("rejected", want.rejected.length);
      return;
    }
    case "ack":
    case "fail": {
      // Mostly a subscription with outstanding deliveries (else acks would rarely hit anything).
      const busy = SUBS.filter((n) => model.outstandingOf(n).length > 0);
      const name = (busy.length > 0 && op.pick % 4 !== 0 ? busy[op.sub % busy.length] : SUBS[op.sub]) as string;
      const outs = model.outstandingOf(name);
      const pending = model.pendingOf(name);
      // Now and then an ack of a message never recorded as delivered (a push lost in a failover).
      const fromPending = op.k === "ack" && op.pick % 5 === 1 && pending.length > 0;
      const o = outs.length > 0 && !fromPending ? outs[op.pick % outs.length] : undefined;
      const p = fromPending ? pending[op.pick % pending.length] : undefined;
      const ref = o !== undefined ? { topic: o.topic, offset: o.offset } : p !== undefined ? { topic: p.topic, offset: p.offset } : { topic: "a", offset: op.pick };
      model.step(now);
      if (op.k === "ack") {
        const want = model.ack(name, [ref]);
        const r = await h.run({ type: "delivery", now, delivered: [], acked: [{ subscription: name, ...ref }], failed: [] });
        expect(r, where).toMatchObject({ ok: true, acked: want });
        see("acked", want.filter(Boolean).length);
        see("acked-pending", fromPending && want[0] === true ? 1 : 0);
      } else {
        const item = { subscription: name, ...ref, reason: "nope", ...(op.withAttempt && o !== undefined ? { attempt: Math.max(1, o.attempt - (op.pick % 2)) } : {}) };
        const want = model.fail(name, [item]);
        const r = await h.run({ type: "delivery", now, delivered: [], acked: [], failed: [item] });
        expect(r, where).toMatchObject({ ok: true, failed: want });
        for (const w of want) see(`fail:${w}`);
      }
      return;
    }
    case "tick": {
      model.step(now);
      const dlqBefore = [...model.topics.values()].reduce((a, t) => a + t.dlq.length, 0);
      model.tick();
      see("timeout-dlq", [...model.topics.values()].reduce((a, t) => a + t.dlq.length, 0) - dlqBefore);
      const r = await h.ok({ type: "tick", now });
      see("retention", r.report.retained + r.report.expired);
      return;
    }
    case "retention": {
      const topic = TOPICS[op.topic] as string;
      const retention = op.kind === 0 ? { maxMessages: op.value } : op.kind === 1 ? { maxBytes: op.value * 30 } : { maxAgeMs: op.value * 500 };
      model.step(now);
      if (model.topics.has(topic)) {
        model.updateRetention(topic, retention);
        await h.ok({ type: "updateRetention", now, topic, retention });
      } else {
        model.createTopic(topic, retention);
        await h.ok({ type: "createTopic", now, topic, retention });
      }
      return;
    }
    case "deleteTopic": {
      const topic = TOPICS[op.topic] as string;
      model.step(now);
      const existed = model.deleteTopic(topic);
      const r = await h.run({ type: "deleteTopic", now, topic });
      expect(r.ok, where).toBe(existed);
      return;
    }
    case "dlqReplay": {
      const topic = TOPICS[op.topic] as string;
      model.step(now);
      const want = model.dlqReplay(topic, op.limit);
      const r = await h.run({ type: "dlqReplay", now, topic, limit: op.limit });
      if (want === "not-found") expect(r, where).toMatchObject({ ok: false, error: { code: "TOPIC_NOT_FOUND" } });
      else expect(r, where).toMatchObject({ ok: true, replayed: want });
      return;
    }
    case "restart": {
      await h.restart();
      model.restart();
      return;
    }
  }
}

function outcome(x: PublishOutcome): { offset: number; duplicate: boolean } | string {
  return "error" in x ? x.error.code : { offset: x.offset, duplicate: x.duplicate };
}

function deliverView(r: ResultOf<"delivery">): { delivered: string[]; rejected: string[] } {
  return {
    delivered: r.delivered.map((d) => `${d.subscription}:${d.topic}@${d.offset}#${d.attempt}`),
    rejected: r.rejected.map((d) => `${d.subscription}:${d.topic}@${d.offset}:${d.reason}`),
  };
}

async function compareState(h: Harness, model: Model, where: string): Promise<void> {
  for (const t of TOPICS) {
    const exists = model.topics.has(t);
    const real = (await h.bsm.listTopics()).find((x) => x.name === t);
    expect(real !== undefined, `${where}: topic ${t} exists`).toBe(exists);
    if (!exists) continue;
    const offsets = (await h.bsm.readMessages(t, 0, 1000)).map((m) => m.offset);
    expect(offsets, `${where}: offsets of ${t}`).toEqual(model.offsets(t));
    const dlq = (await h.bsm.dlqList(t, { limit: 1000 })).map((d) => [d.id, d.offset, d.subscription, d.reason, d.attempts]);
    expect(dlq, `${where}: DLQ of ${t}`).toEqual(model.topics.get(t)?.dlq.map((d) => [d.id, d.offset, d.sub, d.reason, d.attempts]));
  }
  for (const s of SUBS) {
    const want = model.subView(s);
    const real = (await h.bsm.listSubscriptions()).some((x) => x.name === s) ? await h.bsm.subscriptionInfo(s) : undefined;
    expect(real === undefined, `${where}: subscription ${s} exists`).toBe(want === undefined);
    if (real === undefined || want === undefined) continue;
    expect({ pending: PRIOS.map((p) => real.pending[p]), inFlight: real.inFlight, waitingRetry: real.waitingRetry }, `${where}: queue of ${s}`).toEqual(want);
  }
  // The delivery pump looks only at these: the rounds after applies at the first, the periodic sweep at both.
  const withPending = SUBS.filter((s) => (model.subView(s)?.pending.reduce((a, b) => a + b, 0) ?? 0) > 0);
  const withRetries = SUBS.filter((s) => (model.subView(s)?.waitingRetry ?? 0) > 0);
  expect([...h.bsm.subscriptionsWithPending()].sort(), `${where}: subscriptions with pending references`).toEqual(withPending.sort());
  expect([...h.bsm.subscriptionsToSweep()].sort(), `${where}: subscriptions to sweep`).toEqual([...new Set([...withPending, ...withRetries])].sort());
}

function padded(n: number, size: number): Uint8Array {
  const body = json({ n });
  const out = new Uint8Array(Math.max(size, body.length));
  out.fill(0x20);
  out.set(body);
  return out;
}

/**
 * A seeded random workload driven through a Harness ("the leader"): every
 * command kind, dispatcher-planned deliveries, clock jumps. Its log is then
 * replayed elsewhere by the determinism tests.
 */
import { BUILD_CLUSTER_VERSION } from "../../src/version/cluster-version.ts";
import type { Guarantee, Priority } from "@raftbus/client/protocol";
import { deliverItemOf } from "../../src/index.ts";
import type { AckItem, Command, DeliverItem, FailItem } from "../../src/index.ts";
import type { Harness } from "./harness.ts";
import { json } from "./harness.ts";

/** mulberry32: a tiny seeded PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOPICS = ["s.a", "s.b", "s.b.c", "m.x", "$sys.health"];
const PATTERNS = ["s.*", "s.**", "m.x", "**", "re:s\\.(a|b)", "$sys.**"];
const PRIORITIES: Priority[] = ["critical", "high", "medium", "low"];
const GUARANTEES: Guarantee[] = ["at-most-once", "at-least-once", "exactly-once"];

/** Runs `steps` random steps on `h`. */
export async function runScenario(h: Harness, seed: number, steps: number): Promise<void> {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const subs = new Set<string>();
  const outstanding: { sub: string; ref: string }[] = [];
  // The newest cluster version, so every feature's records (users included) are in the bytes compared.
  await h.applyAll([{ type: "setClusterVersion", now: h.now, version: BUILD_CLUSTER_VERSION }]);
  const hash = (): Uint8Array => Uint8Array.from({ length: 32 }, () => Math.floor(r() * 256));
  for (let step = 0; step < steps; step++) {
    h.advance(Math.floor(r() * 200));
    const x = r();
    if (x < 0.3) {
      const n = 1 + Math.floor(r() * 5);
      const messages = Array.from({ length: n }, () => ({
        topic: pick(TOPICS.slice(0, 4)),
        payload: json({ usage: Math.floor(r() * 100), severity: pick(["critical", "info"]) }),
        priority: pick(PRIORITIES),
        guarantee: pick(GUARANTEES),
        ...(r() < 0.3 ? { id: `id-${Math.floor(r() * 20)}` } : {}),
        ...(r() < 0.2 ? { ttlMs: 200 + Math.floor(r() * 2000) } : {}),
        ...(r() < 0.2 ? { producerId: "p", sequence: Math.floor(r() * 10) } : {}),
      }));
      await h.applyAll([h.publishCommand(messages)]);
    } else if (x < 0.33) {
      await h.applyAll([h.bsm.buildPublish({ now: h.now, senderId: "node", system: true, messages: [{ topic: "$sys.health", payload: json({ ok: true }) }] })]);
    } else if (x < 0.4) {
      const name = `sub${Math.floor(r() * 6)}`;
      subs.add(name);
      const req = {
        name, pattern: pick(PATTERNS), guarantee: pick(GUARANTEES), maxInFlight: 1 + Math.floor(r() * 5),
        ackTimeoutMs: 500 + Math.floor(r() * 3000), maxRetries: Math.floor(r() * 3),
        backoff: { initialMs: 50, maxMs: 500, multiplier: 2 },
        start: pick(["earliest", "latest", { offset: 1 }, { time: h.now - 1000 }] as const),
        ...(r() < 0.3 ? { filter: "usage > 30" } : {}),
        ...(r() < 0.2 ? { ephemeral: true, sessionId: "sess" } : {}),
      };
      await h.applyAll([{ type: "createSubscription", now: h.now, subscription: h.bsm.subscriptionSpec(req) }]);
    } else if (x < 0.6) {
      const consumers = [...subs].flatMap((s) => [{ subscription: s, consumerId: "c1", credit: 1 + Math.floor(r() * 3) }, { subscription: s, consumerId: "c2", credit: 1 }]);
      if (r() < 0.5) {
        const { delivered } = await h.dispatch(consumers);
        for (const d of delivered) outstanding.push({ sub: d.subscription, ref: `${d.topic}@${d.offset}` });
      } else {
        await pushFirst(h, r, consumers, outstanding);
      }
    } else if (x < 0.75 && outstanding.length > 0) {
      const i = Math.max(0, outstanding.length - 1 - Math.floor(r() * 4)); // mostly recent deliveries
      const o = outstanding.splice(i, 1)[0];
      if (o !== undefined) await h.applyAll([r() < 0.6
        ? { type: "delivery", now: h.now, delivered: [], acked: [{ subscription: o.sub, ...ref(o.ref) }], failed: [] }
        : { type: "delivery", now: h.now, delivered: [], acked: [], failed: [{ subscription: o.sub, ...ref(o.ref), reason: "x" }] }]);
    } else if (x < 0.85) {
      await h.applyAll([{ type: "tick", now: h.now }]);
    } else {
      const cmds: Command[] = [
        { type: "updateRetention", now: h.now, topic: "s.a", retention: { maxMessages: 5 + Math.floor(r() * 10) } },
        { type: "createTopic", now: h.now, topic: "m.x", retention: { maxBytes: 300, maxAgeMs: 3000 } },
        { type: "deleteTopic", now: h.now, topic: pick(["s.b", "m.x"]) },
        { type: "dlqReplay", now: h.now, topic: pick(TOPICS.slice(0, 4)), limit: 3 },
        { type: "dlqPurge", now: h.now, topic: pick(TOPICS.slice(0, 4)) },
        { type: "maintenance", now: h.now, action: pick(["cleanup", "retryFailed"] as const), includeDlq: r() < 0.5 },
        { type: "updateSubscription", now: h.now, name: pick([...subs, "none"]), changes: { maxInFlight: 1 + Math.floor(r() * 4), filter: r() < 0.5 ? null : "severity == 'critical'" } },
        { type: "deleteSubscription", now: h.now, name: pick([...subs, "none"]) },
        { type: "expireSession", now: h.now, sessionId: "sess" },
        { type: "putUser", now: h.now, name: pick(["u1", "u2"]), create: r() < 0.5, tokenHash: hash(), grants: [pick(["pub:s.**", "admin", "sub:$sys.**"])] },
        { type: "removeUser", now: h.now, name: pick(["u1", "u2"]) },
      ];
      await h.applyAll([pick(cmds)]);
    }
  }
}

/**
 * The leader's push-first path: a round is handed out, then recorded in one
 * delivery entry together with acks and fails — some acks arriving before
 * the push's record left (recorded by the ack alone), some of older
 * deliveries, some fails.
 */
async function pushFirst(
  h: Harness, r: () => number, consumers: readonly { subscription: string; consumerId: string; credit: number }[], outstanding: { sub: string; ref: string }[],
): Promise<void> {
  const batches = await h.bsm.dispatcher.nextDeliveries({ now: h.now, consumers });
  const delivered: DeliverItem[] = [];
  const acked: AckItem[] = [];
  const failed: FailItem[] = [];
  for (const item of batches.flatMap((b) => b.items.map(deliverItemOf))) {
    const y = r();
    const settle = { subscription: item.subscription, topic: item.topic, offset: item.offset };
    if (y < 0.3) {
      acked.push(settle); // acked before its record left
      continue;
    }
    delivered.push(item);
    if (y < 0.45) failed.push({ ...settle, reason: "handler threw" });
    else if (y < 0.6) acked.push(settle);
    else outstanding.push({ sub: item.subscription, ref: `${item.topic}@${item.offset}` });
  }
  if (outstanding.length > 0 && r() < 0.5) {
    const o = outstanding.splice(Math.floor(r() * outstanding.length), 1)[0];
    if (o !== undefined) acked.push({ subscription: o.sub, ...ref(o.ref) });
  }
  if (delivered.length + acked.length + failed.length === 0) return;
  h.advance(Math.floor(r() * 20)); // recorded a little after the push
  await h.applyAll([{ type: "delivery", now: h.now, delivered, acked, failed }]);
}

function ref(s: string): { topic: string; offset: number } {
  const at = s.lastIndexOf("@");
  return { topic: s.slice(0, at), offset: Number(s.slice(at + 1)) };
}

/**
 * The checker on small hand-made histories and replica states: a clean run
 * passes every check, and each kind of violation is caught by the check
 * that names it (and only flips that one).
 */
import { describe, expect, it } from "vitest";
import { availability } from "./check/availability.ts";
import { check, type CheckInput, type Verdict } from "./check/checker.ts";
import type { ReplicaState, StoredRef } from "./check/replicas.ts";
import type { DeliveryRecord, HistoryRecord, OpRecord } from "./workload/history.ts";
import type { WorkloadPayload } from "./workload/spec.ts";

const T0 = 1_000_000;

function pub(key: string, topic: string, offset: number, at: number, outcome: OpRecord["outcome"] = "ok", error?: string): OpRecord {
  return {
    t: "op", proc: "pub-1", f: "publish", start: T0 + at, end: T0 + at + 5, outcome, node: "n1",
    ...(error !== undefined ? { error } : {}), value: { key, topic, ...(outcome === "ok" ? { offset, duplicate: false } : {}) },
  };
}

function deliver(sub: string, key: string, topic: string, offset: number, at: number, attempt = 1): DeliveryRecord {
  return { t: "deliver", proc: sub, sub, time: T0 + at, key, topic, offset, attempt, redelivered: attempt > 1 };
}

function ack(sub: string, key: string, topic: string, offset: number, at: number): OpRecord {
  return { t: "op", proc: sub, f: "ack", start: T0 + at, end: T0 + at + 2, outcome: "ok", value: { key, topic, offset, sub } };
}

function replica(id: string, topics: Record<string, StoredRef[]>, over: Partial<ReplicaState> = {}): ReplicaState {
  return {
    id, commitIndex: 10, lastIndex: 10, appliedIndex: 10, comparedAt: 10, digest: "d1", committed: ["1:a", "1:b"],
    topicNames: Object.keys(topics).sort(), topics, subscriptions: ["alo-orders"], dlq: {}, ...over,
  };
}

/** A clean run: two orders, one event, everyone saw what they must. */
function clean(): { history: HistoryRecord[]; topics: Record<string, StoredRef[]>; payloads: Map<string, WorkloadPayload> } {
  const history: HistoryRecord[] = [
    pub("a", "chaos.orders", 0, 0), pub("b", "chaos.orders", 1, 10), pub("c", "chaos.events", 0, 20),
    ...(["alo-orders", "eo-orders"] as const).flatMap((s) => [
      deliver(s, "a", "chaos.orders", 0, 30), ack(s, "a", "chaos.orders", 0, 31),
      deliver(s, "b", "chaos.orders", 1, 40), ack(s, "b", "chaos.orders", 1, 41),
    ]),
    deliver("wq-events", "c", "chaos.events", 0, 50), ack("wq-events", "c", "chaos.events", 0, 51),
    deliver("amo-events", "c", "chaos.events", 0, 50),
  ];
  const topics = {
    "chaos.orders": [{ offset: 0, key: "a", id: "a" }, { offset: 1, key: "b", id: "b" }],
    "chaos.events": [{ offset: 0, key: "c", id: "c" }],
  };
  const payloads = new Map<string, WorkloadPayload>([["a", { k: "a", sev: "info" }], ["b", { k: "b", sev: "info" }], ["c", { k: "c", sev: "info" }]]);
  return { history, topics, payloads };
}

function run(over: Partial<CheckInput> & { topics?: Record<string, StoredRef[]> } = {}): Verdict[] {
  const c = clean();
  const topics = over.topics ?? c.topics;
  return check({
    history: over.history ?? c.history,
    replicas: over.replicas ?? [replica("n1", topics), replica("n2", topics), replica("n3", topics)],
    payloads: over.payloads ?? c.payloads,
    crashes: over.crashes ?? [],
    drained: over.drained ?? true,
  });
}

const failing = (vs: readonly Verdict[]): string[] => vs.filter((v) => !v.ok).map((v) => v.name).sort();

describe("checker", () => {
  it("a clean history passes every check", () => {
    expect(failing(run())).toEqual([]);
  });

  it("lost: an acknowledged publish missing from the final log", () => {
    const c = clean();
    const topics = { ...c.topics, "chaos.orders": [c.topics["chaos.orders"]![0]!] };
    const vs = run({ topics, history: c.history.filter((r) => !(r.t === "deliver" && r.key === "b") && !(r.t === "op" && r.f === "ack" && r.value.key === "b")) });
    expect(failing(vs)).toEqual(["lost"]);
    expect(vs.find((v) => v.name === "lost")?.samples[0]).toContain("b acked");
  });

  it("an unknown-outcome publish may be missing, but a refused one must not be stored", () => {
    const c = clean();
    const history = [...c.history.filter((r) => !(r.t === "op" && r.f === "publish" && r.value.key === "b")), pub("b", "chaos.orders", 1, 10, "unknown", "TIMEOUT")];
    expect(failing(run({ history }))).toEqual([]);
    const refused = [...c.history.filter((r) => !(r.t === "op" && r.f === "publish" && r.value.key === "b")), pub("b", "chaos.orders", 1, 10, "fail", "NO_LEADER")];
    expect(failing(run({ history: refused }))).toEqual(["phantom"]);
  });

  it("duplicated: one key stored twice", () => {
    const c = clean();
    const topics = { ...c.topics, "chaos.orders": [...c.topics["chaos.orders"]!, { offset: 2, key: "b", id: "b" }] };
    expect(failing(run({ topics }))).toEqual(["duplicated"]);
  });

  it("phantom: a stored message nobody published, and a delivery of one", () => {
    const c = clean();
    const topics = { ...c.topics, "chaos.events": [...c.topics["chaos.events"]!, { offset: 1, key: "zz", id: "zz" }] };
    expect(failing(run({ topics }))).toContain("phantom");
    expect(failing(run({ history: [...c.history, deliver("amo-events", "zz", "chaos.events", 7, 60)] }))).toEqual(["phantom-delivery"]);
  });

  it("acked-offset: the acknowledgement named another offset", () => {
    const c = clean();
    const history = c.history.map((r) => (r.t === "op" && r.f === "publish" && r.value.key === "b" ? { ...r, value: { ...r.value, offset: 5 } } : r));
    expect(failing(run({ history }))).toEqual(["acked-offset"]);
  });

  it("divergence: a different committed entry, digest or topic log on one replica", () => {
    const c = clean();
    const ok = [replica("n1", c.topics), replica("n2", c.topics)];
    expect(failing(run({ replicas: [...ok, replica("n3", c.topics, { committed: ["1:a", "2:x"] })] }))).toEqual(["divergence"]);
    expect(failing(run({ replicas: [...ok, replica("n3", c.topics, { digest: "other" })] }))).toEqual(["divergence"]);
    const shorter = { ...c.topics, "chaos.events": [] };
    expect(failing(run({ replicas: [...ok, replica("n3", shorter)] }))).toEqual(["divergence", "lost"]); // every member must hold what was acked
  });

  it("order: a first delivery of an older offset after a newer one", () => {
    const c = clean();
    const history = c.history.filter((r) => !(r.t === "deliver" && r.sub === "alo-orders"));
    history.push(deliver("alo-orders", "b", "chaos.orders", 1, 30), deliver("alo-orders", "a", "chaos.orders", 0, 31));
    expect(failing(run({ history }))).toEqual(["order"]);
    // A marked redelivery of an older offset is fine.
    const redelivered = [...c.history, deliver("alo-orders", "a", "chaos.orders", 0, 60, 2)];
    expect(failing(run({ history: redelivered }))).toEqual([]);
  });

  it("exactly-once: handed out again after its ack committed; at-most-once: delivered twice", () => {
    const c = clean();
    expect(failing(run({ history: [...c.history, deliver("eo-orders", "a", "chaos.orders", 0, 90, 2)] }))).toEqual(["exactly-once"]);
    expect(failing(run({ history: [...c.history, deliver("amo-events", "c", "chaos.events", 0, 90)] }))).toEqual(["at-most-once", "unmarked-redelivery"]);
  });

  it("at-least-once: a stored message a durable subscription never got is late (liveness), unless dead-lettered", () => {
    const c = clean();
    const history = c.history.filter((r) => !(r.t === "deliver" && r.sub === "wq-events"));
    const vs = run({ history });
    expect(failing(vs)).toEqual(["at-least-once"]);
    expect(vs.find((v) => v.name === "at-least-once")?.severity).toBe("liveness");
    const dlq = { "chaos.events": [{ key: "c", subscription: "wq-events", offset: 0 }] };
    const topics = c.topics;
    expect(failing(run({ history, replicas: [replica("n1", topics, { dlq }), replica("n2", topics, { dlq })] }))).toEqual([]);
  });

  it("request-reply, admin and crashes", () => {
    const c = clean();
    const wrongReply: OpRecord = { t: "op", proc: "req", f: "request", start: T0, end: T0 + 1, outcome: "ok", value: { key: "r1", reply: "r2" } };
    expect(failing(run({ history: [...c.history, wrongReply] }))).toEqual(["request-reply"]);
    const created: OpRecord = { t: "op", proc: "admin", f: "topic-create", start: T0, end: T0 + 1, outcome: "ok", value: { topic: "chaos.tmp.t1" } };
    expect(failing(run({ history: [...c.history, created] }))).toEqual(["admin"]);
    expect(failing(run({ crashes: [{ node: "n2", at: T0, code: 1, signal: null }] }))).toEqual(["node-crashes"]);
  });

  it("availability splits operations by fault window and measures heal to the next acked publish", () => {
    const history: HistoryRecord[] = [
      pub("a", "chaos.orders", 0, 0),
      { t: "fault", time: T0 + 1000, phase: "start", kind: "kill", detail: "kill -9 n1" },
      pub("b", "chaos.orders", 1, 1500, "unknown", "TIMEOUT"),
      { t: "fault", time: T0 + 3000, phase: "end", kind: "kill", detail: "" },
      pub("c", "chaos.orders", 2, 3200),
    ];
    const a = availability(history, T0);
    expect(a.inFaults["publish"]).toEqual({ ok: 0, total: 1 });
    expect(a.outsideFaults["publish"]).toEqual({ ok: 2, total: 2 });
    expect(a.healToPublishMs).toEqual([{ kind: "kill", ms: 205 }]);
    expect(a.windows).toEqual([{ kind: "kill", detail: "kill -9 n1", start: 1000, end: 3000 }]);
    expect(a.timeline[3]).toMatchObject({ t: 3, ok: 1 });
  });
});

/**
 * Matching that does not grow with hostile input (issue 13 item 6): regex
 * results are cached per topic without changing any answer, the cache is
 * bounded, the cluster's regex states are bounded in apply, a message's
 * payload is parsed once for all filters, a filter's steps per message
 * are bounded, a regex is run only on topics that start with its literal
 * prefix, and subscribing costs the same with 10 or 10,000 subscriptions
 * held. Costs are counted (regex runs, parses, evaluations), never timed.
 */
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { FILTER_STEPS_MAX, compileFilter, evaluateFilter, messageInput } from "../../src/filter/index.ts";
import type { FilterNode } from "../../src/filter/index.ts";
import { SUBSCRIPTION_LIMITS } from "../../src/config.ts";
import { compilePattern } from "../../src/pattern/pattern.ts";
import { REGEX_STATES_MAX, REGEX_SUBSCRIBE_STATES_MAX } from "../../src/pattern/regex/safe-regex.ts";
import { filterStepsMax } from "../../src/state/messages.ts";
import { LIMITS_IN_APPLY_VERSION } from "../../src/version/cluster-version.ts";
import { SubscriptionIndex } from "../../src/pattern/subscription-index.ts";
import { BrokerState } from "../../src/state/state.ts";
import type { Command } from "../../src/commands/types.ts";
import { Harness, json } from "../helpers/harness.ts";

const seed = process.env["RAFTBUS_SEED"] === undefined ? Date.now() : Number(process.env["RAFTBUS_SEED"]);

describe("subscription index: the per-topic regex cache", () => {
  it("answers exactly as a scan of every pattern, across adds and removes (model; seed printed on failure)", () => {
    const segment = fc.constantFrom("a", "b", "c", "ab", "x1");
    const topic = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join("."));
    const pattern = fc.oneof(
      topic,
      fc.constantFrom("a.*", "**.b", "a.**", "/a\\..*/", "/[ab]+(\\.c)?/", "/.*x1.*/", "/(a|b)\\.(a|b|c)/"),
    );
    const op = fc.oneof(
      fc.record({ kind: fc.constant("add" as const), id: fc.integer({ min: 0, max: 9 }), pattern }),
      fc.record({ kind: fc.constant("remove" as const), id: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ kind: fc.constant("match" as const), topic }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const index = new SubscriptionIndex<string>();
      const model = new Map<string, string>();
      for (const o of ops) {
        if (o.kind === "add") {
          index.add(`s${o.id}`, compilePattern(o.pattern), `s${o.id}`);
          model.set(`s${o.id}`, o.pattern);
        } else if (o.kind === "remove") {
          index.remove(`s${o.id}`);
          model.delete(`s${o.id}`);
        } else {
          const want = [...model].filter(([, p]) => compilePattern(p).matches(o.topic)).map(([id]) => id).sort();
          expect(index.match(o.topic)).toEqual(want);
          expect(index.match(o.topic)).toEqual(want); // the cached answer
        }
      }
    }), { seed, numRuns: 200 });
  });

  it("tracks the regex states it holds", () => {
    const index = new SubscriptionIndex<string>();
    const re = compilePattern("/(a|b){10}/");
    index.add("r1", re, "r1");
    index.add("r2", re, "r2");
    index.add("w", compilePattern("a.**"), "w");
    expect(index.regexStates).toBe(2 * re.regexStates!);
    index.remove("r1");
    expect(index.regexStates).toBe(re.regexStates);
  });
});

/** A harness whose cluster runs `version` (fresh states run the base version until a leader sets one). */
async function harnessAt(version: number): Promise<Harness> {
  const h = await Harness.open();
  await h.ok({ type: "setClusterVersion", now: h.now, version });
  return h;
}

describe("regex cost budgets", () => {
  it("a new regex subscription needing more than REGEX_SUBSCRIBE_STATES_MAX NFA states is refused in apply from cluster version 3; stored ones still compile", async () => {
    const costly = "/(.?){100}(.?){100}x/"; // ~300 states: over the subscribe budget, within the compile limit
    const states = compilePattern(costly).regexStates!;
    expect(states).toBeGreaterThan(REGEX_SUBSCRIBE_STATES_MAX);
    expect(states).toBeLessThanOrEqual(REGEX_STATES_MAX);
    expect(() => compilePattern("/((a{11}){11}){11}/")).toThrow(/too complex/); // 1331 states: not even compiled
    const h = await harnessAt(LIMITS_IN_APPLY_VERSION);
    const refused = await h.run({ type: "createSubscription", now: h.now, subscription: h.bsm.subscriptionSpec({ name: "costly", pattern: costly }) });
    expect(refused).toMatchObject({ ok: false, error: { code: "INVALID_PATTERN" } });
    await h.bsm.close();
    // A version-2 cluster still has members that accept it: so does every replica.
    const old = await harnessAt(LIMITS_IN_APPLY_VERSION - 1);
    expect(await old.run({ type: "createSubscription", now: old.now, subscription: old.bsm.subscriptionSpec({ name: "costly", pattern: costly }) })).toMatchObject({ ok: true, created: true });
    await old.bsm.close();
  });

  it("apply refuses a regex subscription that would take the cluster over regexStatesMax (LIMIT_EXCEEDED, deterministic)", async () => {
    const h = await harnessAt(LIMITS_IN_APPLY_VERSION);
    const big = "/(.?){100}(.?){20}x/"; // close to REGEX_SUBSCRIBE_STATES_MAX states
    const states = compilePattern(big).regexStates!;
    const fits = Math.floor(SUBSCRIPTION_LIMITS.regexStatesMax / states);
    for (let i = 0; i < fits; i++) await h.subscribe({ name: `re-${i}`, pattern: big });
    const r = await h.run({ type: "createSubscription", now: h.now, subscription: h.bsm.subscriptionSpec({ name: "one-too-many", pattern: big }) });
    expect(r).toMatchObject({ ok: false, error: { code: "LIMIT_EXCEEDED", details: { limit: "regexStatesMax", max: SUBSCRIPTION_LIMITS.regexStatesMax } } });
    // Wildcards cost nothing there.
    await h.subscribe({ name: "wild", pattern: "a.**" });
    await h.bsm.close();
  });

  it("apply counts durable subscriptions per owner against the limit the command carries", async () => {
    const h = await harnessAt(LIMITS_IN_APPLY_VERSION);
    const create = (name: string, owner: string, ephemeral = false) => h.run({
      type: "createSubscription", now: h.now, durablePerOwnerMax: 2,
      subscription: h.bsm.subscriptionSpec({ name, pattern: "t.**", owner, ...(ephemeral ? { ephemeral, sessionId: "s1" } : {}) }),
    });
    expect(await create("a1", "alice")).toMatchObject({ ok: true, created: true });
    expect(await create("a2", "alice")).toMatchObject({ ok: true, created: true });
    expect(await create("a3", "alice")).toMatchObject({ ok: false, error: { code: "LIMIT_EXCEEDED", details: { limit: "durableSubscriptionsPerUserMax", max: 2 } } });
    expect(await create("a1", "alice")).toMatchObject({ ok: true, created: false }); // re-declaring is no new subscription
    expect(await create("b1", "bob")).toMatchObject({ ok: true, created: true });
    expect(await create("e1", "alice", true)).toMatchObject({ ok: true, created: true }); // ephemeral ones do not count
    await h.ok({ type: "deleteSubscription", now: h.now, name: "a2" });
    expect(await create("a3", "alice")).toMatchObject({ ok: true, created: true });
    await h.bsm.close();
  });
});

describe("filters: payload parsed once per message, steps bounded per message", () => {
  it("100 filters on one message parse its 1 MB JSON payload once", () => {
    const big: Record<string, string> = {};
    for (let i = 0; i < 20_000; i++) big[`k${i}`] = "v".repeat(40);
    const input = messageInput({}, json({ ...big, level: 5 }));
    const filters = [...Array(100).keys()].map((i) => compileFilter(`payload.k${i} == 'v' || level > ${i % 10}`));
    const matched = filters.filter((f) => f.matches(input)).length;
    expect(matched).toBe(50);
    expect(input.parsed?.parses).toBe(1);
  });

  it("an evaluation that runs out of steps does not match (counted in steps, so every replica agrees)", () => {
    const lit = (v: number): FilterNode => ({ kind: "literal", value: v, position: 0 } as unknown as FilterNode);
    const wide: FilterNode = {
      kind: "in", position: 0,
      operand: { kind: "path", scope: "payload", segments: ["x"], headerKey: "", position: 0 },
      list: [...Array(FILTER_STEPS_MAX).keys()].map(lit),
    } as unknown as FilterNode;
    expect(evaluateFilter(wide, messageInput({}, json({ x: 1 })))).toBe(false);
    const narrow = { ...(wide as object), list: [lit(1)] } as unknown as FilterNode;
    expect(evaluateFilter(narrow, messageInput({}, json({ x: 1 })))).toBe(true);
    // Apply uses the budget only once the cluster runs version 3: older members have none.
    expect(evaluateFilter(wide, messageInput({}, json({ x: 1 }), filterStepsMax({ meta: { clusterVersion: LIMITS_IN_APPLY_VERSION - 1 } })))).toBe(true);
    expect(filterStepsMax({ meta: { clusterVersion: LIMITS_IN_APPLY_VERSION } })).toBe(FILTER_STEPS_MAX);
  });
});

/** Regex subscriptions with distinct literal prefixes and filter subscriptions on a wildcard every `bench.after.*` topic matches (the scale-10k-matchers shape). */
function matcherSubscriptions(h: Harness, n: number, first = 0): Command[] {
  return Array.from({ length: n }, (_, j) => {
    const i = first + j;
    const req = i % 2 === 0
      ? { name: `re-${i}`, pattern: `/bench\\.after\\.z${i}(a|b)*/`, ephemeral: true, sessionId: "s1" }
      : { name: `f-${i}`, pattern: "bench.after.*", filter: `k == ${i}`, ephemeral: true, sessionId: "s1" };
    return { type: "createSubscription", now: h.now, subscription: h.bsm.subscriptionSpec(req) } as Command;
  });
}

describe("publish cost grows with what the topic selects, not with what is held (issue 13 item 6)", () => {
  it("with 1,000 and then 4,000 regex and filter subscriptions, a publish runs only the prefix-less regexes, parses once and evaluates each selected filter once", async () => {
    const h = await Harness.open();
    // Regexes with nothing fixed up front are run on every new topic: the cluster's regex-state budget bounds them.
    for (const [i, pattern] of ["/.*\\.z1/", "/[a-z]+\\.after\\..*/", "/(bench|other)\\.after\\.q.*/"].entries()) {
      await h.subscribe({ name: `open-${i}`, pattern, ephemeral: true, sessionId: "s1" });
    }
    const costOfOnePublish = async (topic: string): Promise<{ regexRuns: number; filterEvaluations: number; payloadParses: number }> => {
      const before = h.bsm.matchingWork();
      await h.pub(topic, { k: -1 });
      const after = h.bsm.matchingWork();
      return { regexRuns: after.regexRuns - before.regexRuns, filterEvaluations: after.filterEvaluations - before.filterEvaluations, payloadParses: after.payloadParses - before.payloadParses };
    };
    await h.applyAll(matcherSubscriptions(h, 1000));
    expect(await costOfOnePublish("bench.after.q1")).toEqual({ regexRuns: 3, filterEvaluations: 500, payloadParses: 1 });
    await h.applyAll(matcherSubscriptions(h, 3000, 1000));
    expect(await costOfOnePublish("bench.after.q2")).toEqual({ regexRuns: 3, filterEvaluations: 2000, payloadParses: 1 });
    // A topic a regex's prefix selects runs that regex too (and it matches); z3, z39 and z399 are filters.
    const selected = await costOfOnePublish("bench.after.z3998ab");
    expect(selected.regexRuns).toBe(3 + 1);
    expect((await h.bsm.subscriptionInfo("re-3998")).pending.medium).toBe(1);
    // Another topic: no filter subscription's wildcard selects it, so nothing is parsed.
    expect(await costOfOnePublish("other.topic")).toEqual({ regexRuns: 3, filterEvaluations: 0, payloadParses: 0 });
    await h.destroy();
  });

  it("counts the matchers any message may run (filters, prefix-less regexes) across create, update, delete and restart", async () => {
    const h = await Harness.open();
    await h.subscribe({ name: "f", pattern: "a.*", filter: "x == 1" });
    await h.subscribe({ name: "re-prefixed", pattern: "/a\\.b.*/" });
    await h.subscribe({ name: "re-open", pattern: "/.*b/" });
    await h.subscribe({ name: "plain", pattern: "a.**" });
    expect(h.bsm.matchersPerMessageMax()).toBe(2);
    await h.ok({ type: "updateSubscription", now: h.now, name: "plain", changes: { filter: "y > 2" } });
    expect(h.bsm.matchersPerMessageMax()).toBe(3);
    await h.ok({ type: "updateSubscription", now: h.now, name: "f", changes: { filter: null } });
    expect(h.bsm.matchersPerMessageMax()).toBe(2);
    await h.restart();
    expect(h.bsm.matchersPerMessageMax()).toBe(2);
    await h.ok({ type: "deleteSubscription", now: h.now, name: "plain" });
    await h.ok({ type: "deleteSubscription", now: h.now, name: "re-open" });
    expect(h.bsm.matchersPerMessageMax()).toBe(0);
    await h.destroy();
  });

  it("a subscription starting at the latest offset does not test the topics that exist; one starting earlier does (it backfills)", async () => {
    const h = await Harness.open();
    await h.publish(Array.from({ length: 300 }, (_, i) => ({ topic: `t.n${i}`, payload: json({}) })));
    const walks = vi.spyOn(BrokerState.prototype, "sortedTopics");
    try {
      await h.subscribe({ name: "late", pattern: "/t\\.n1.*/", start: "latest" });
      expect(walks).not.toHaveBeenCalled();
      await h.subscribe({ name: "early", pattern: "/t\\.n1.*/", start: "earliest" });
      expect(walks).toHaveBeenCalledTimes(1);
      expect((await h.bsm.subscriptionInfo("early")).pending.medium).toBe(111); // t.n1, t.n10-19, t.n100-199
      expect((await h.bsm.subscriptionInfo("late")).pending.medium).toBe(0);
    } finally {
      walks.mockRestore();
      await h.destroy();
    }
  });
});

/**
 * Matching that does not grow with hostile input (issue 13 item 6): regex
 * results are cached per topic without changing any answer, the cache is
 * bounded, the cluster's regex states are bounded in apply, a message's
 * payload is parsed once for all filters, and a filter's steps per message
 * are bounded.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FILTER_STEPS_MAX, compileFilter, evaluateFilter, messageInput } from "../../src/filter/index.ts";
import type { FilterNode } from "../../src/filter/index.ts";
import { SUBSCRIPTION_LIMITS } from "../../src/config.ts";
import { compilePattern } from "../../src/pattern/pattern.ts";
import { REGEX_STATES_MAX, REGEX_SUBSCRIBE_STATES_MAX } from "../../src/pattern/regex/safe-regex.ts";
import { filterStepsMax } from "../../src/state/messages.ts";
import { LIMITS_IN_APPLY_VERSION } from "../../src/version/cluster-version.ts";
import { SubscriptionIndex } from "../../src/pattern/subscription-index.ts";
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

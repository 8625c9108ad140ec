/**
 * Permissions (issue 13 part 2) at the unit level: grant syntax, pattern
 * coverage against a brute-force model over a small topic universe, the
 * `$sys.` and `_reply.` rules, and the request table.
 */
import { describe, expect, it } from "vitest";
import { RaftbusError } from "@raftbus/client/protocol";
import type { AnyRequestFrame } from "@raftbus/client/protocol";
import { covers } from "../../src/auth/coverage.ts";
import { canPublish, canSubscribe, compileGrants, normalizeGrants } from "../../src/auth/grants.ts";
import { compilePattern, patternSegments } from "../../src/pattern/pattern.ts";
import { authorize } from "../../src/server/auth/access.ts";
import type { UserRecord } from "../../src/store/records.ts";

const segs = (p: string): readonly string[] => patternSegments(compilePattern(p))!;

/** Every topic of 1–4 segments over a small alphabet, `$sys` and `_reply` first segments included. */
function universe(): string[] {
  const alphabet = ["a", "b", "$sys", "_reply"];
  const out: string[] = [];
  const grow = (prefix: string[]): void => {
    if (prefix.length > 0) out.push(prefix.join("."));
    if (prefix.length === 4) return;
    for (const s of alphabet) if (prefix.length === 0 || s.startsWith("$") === false) grow([...prefix, s]);
  };
  grow([]);
  return out.filter((t) => t !== "$sys");
}

describe("coverage of one pattern by another", () => {
  const patterns = ["a", "a.b", "*", "**", "a.*", "a.**", "*.b", "**.b", "a.*.b", "a.**.b", "*.*", "$sys.**", "$sys.a", "$sys.*.b", "_reply.**", "_reply.a.*", "**.a.**", "*.**"];
  const topics = universe();

  it("says covered only when a brute-force model agrees, and agrees on the usual shapes", () => {
    let agreed = 0;
    let pairs = 0;
    for (const g of patterns) {
      for (const s of patterns) {
        const grant = compilePattern(g);
        const sub = compilePattern(s);
        const model = topics.filter((t) => sub.matches(t)).every((t) => grant.matches(t));
        const said = covers(segs(g), segs(s));
        // Safety: never "covered" when some topic of the subscription is outside the grant.
        if (said) expect(model, `grant ${g} said to cover ${s}`).toBe(true);
        pairs++;
        if (said === model) agreed++;
      }
    }
    expect(agreed / pairs).toBeGreaterThan(0.95);
    for (const [g, s] of [["a.**", "a.*.b"], ["a.**", "a.**"], ["**", "a.**.b"], ["a.*", "a.b"], ["$sys.**", "$sys.*.b"], ["**", "*.*"]]) {
      expect(covers(segs(g!), segs(s!)), `${g} covers ${s}`).toBe(true);
    }
    for (const [g, s] of [["a.*", "a.**"], ["**", "$sys.a"], ["a.**", "a"], ["*.b", "**.b"]]) {
      expect(covers(segs(g!), segs(s!)), `${g} does not cover ${s}`).toBe(false);
    }
  });
});

describe("grants", () => {
  it("are validated and kept in canonical form", () => {
    expect(normalizeGrants([" pub:orders.** ", "pub:orders.**", "admin:topics", "admin"])).toEqual(["pub:orders.**", "admin:topics", "admin"]);
    for (const bad of ["write:a", "pub:", "pub:a..b", "sub:/a.*/", "admin:everything", ""]) {
      expect(() => normalizeGrants([bad]), bad).toThrow(RaftbusError);
    }
  });

  it("publish needs a matching grant; $sys. never, reply inboxes always", () => {
    const p = compileGrants(["pub:orders.**"]);
    expect(canPublish(p, "orders.eu.new")).toBe(true);
    expect(canPublish(p, "orders")).toBe(false);
    expect(canPublish(p, "billing.x")).toBe(false);
    expect(canPublish(p, "_reply.alice.c1")).toBe(true);
    expect(canPublish(compileGrants(["pub:**"]), "$sys.audit")).toBe(false);
  });

  it("subscribe: inside a grant; $sys. and other inboxes only when named; regexes only with every topic", () => {
    const p = compileGrants(["sub:orders.**", "sub:**"]);
    const ok = (pattern: string, inbox?: string) => canSubscribe(p, compilePattern(pattern), inbox);
    expect(ok("orders.*.new")).toBe(true);
    expect(ok("$sys.**")).toBe(false);
    expect(ok("**")).toBe(false); // it would read every reply inbox
    expect(ok("_reply.bob.c9")).toBe(false);
    expect(ok("_reply.bob.c9", "_reply.bob.c9")).toBe(true);
    expect(ok("/orders\\..*/")).toBe(false);
    const admin = compileGrants(["admin"]);
    expect(canSubscribe(admin, compilePattern("**"), undefined)).toBe(true);
    expect(canSubscribe(admin, compilePattern("$sys.**"), undefined)).toBe(true);
    expect(canSubscribe(admin, compilePattern("re:.*"), undefined)).toBe(true);
    expect(canSubscribe(compileGrants(["sub:$sys.security"]), compilePattern("$sys.security"), undefined)).toBe(true);
    const monitor = compileGrants(["monitor"]);
    expect(canSubscribe(monitor, compilePattern("$sys.**"), undefined)).toBe(true);
    expect(canSubscribe(monitor, compilePattern("orders.*"), undefined)).toBe(false);
    expect(canPublish(monitor, "orders.x")).toBe(false);
  });
});

describe("the request table", () => {
  const record = (grants: string[]): UserRecord => ({ name: "u", tokenHash: new Uint8Array(32), grants, createdAt: 0, updatedAt: 0 });
  const req = (kind: string, body: unknown): AnyRequestFrame => ({ t: "req", id: 1, kind, body }) as unknown as AnyRequestFrame;
  const user = { kind: "user" as const, user: "u", tokenHash: new Uint8Array(32) };

  it("admin scopes guard administrative kinds; reads and own-subscription feedback need none", () => {
    const r = record(["pubsub:orders.**", "admin:dlq"]);
    expect(authorize(user, r, req("topic.delete", { topic: "orders" }), undefined)).toMatchObject({ permission: "admin:topics" });
    expect(authorize(user, r, req("cluster.remove-node", { id: "n1" }), undefined)).toMatchObject({ permission: "admin:membership" });
    expect(authorize(user, r, req("dlq.purge", { topic: "orders" }), undefined)).toBeUndefined();
    expect(authorize(user, r, req("topic.list", {}), undefined)).toBeUndefined();
    expect(authorize(user, r, req("sys.forward", {}), undefined)).toMatchObject({ permission: "node" });
    expect(authorize(user, undefined, req("dlq.purge", { topic: "orders" }), undefined)).toMatchObject({ permission: "user" });
  });

  it("a node's credential forwards events and adds itself, nothing else", () => {
    const node = { kind: "node" as const, node: "n4" };
    expect(authorize(node, undefined, req("sys.forward", {}), undefined)).toBeUndefined();
    expect(authorize(node, undefined, req("cluster.add-node", { id: "n4" }), undefined)).toBeUndefined();
    expect(authorize(node, undefined, req("cluster.add-node", { id: "n5" }), undefined)).toBeDefined();
    expect(authorize(node, undefined, req("publish", { messages: [] }), undefined)).toBeDefined();
  });
});

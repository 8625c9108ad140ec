/**
 * A list page reads each item's details after listing the names, and an
 * apply can run between those reads: an ephemeral subscription whose client
 * just left, or a topic just deleted, is gone by the time its details are
 * read. Such an item is left out of the page; the list itself succeeds.
 * (Seen in CI: `raftbus sub --name` lists subscriptions first and failed
 * with "SUBSCRIPTION_NOT_FOUND: subscription '_eph.…' does not exist" while
 * other `sub` commands were closing.) Fakes stand in for the broker: the
 * deletion is placed exactly between the listing and the detail read.
 */
import { describe, expect, it } from "vitest";
import { RaftbusError } from "@raftbus/client/protocol";
import { listSubscriptions, stats } from "../../src/server/handlers/admin.ts";
import { listTopics } from "../../src/server/handlers/topics.ts";
import type { HandlerContext } from "../../src/server/node-server.ts";
import type { ClientSession } from "../../src/server/session.ts";

const session = { isClosed: false } as unknown as ClientSession;

interface Store {
  subs: Set<string>;
  topics: Set<string>;
  /** Runs once, after the names were listed and before the first detail read (an apply in between). */
  between?: () => void;
  /** A read of a subscription fails with this instead (another error must still fail the list). */
  infoError?: RaftbusError;
}

function context(store: Store): HandlerContext {
  const once = (): void => {
    const f = store.between;
    store.between = undefined;
    f?.();
  };
  return {
    config: { id: "n1", listPageMax: 100 },
    broker: {
      appliedIndex: () => 7,
      listSubscriptions: async () => [...store.subs].sort().map((name) => ({ name, pattern: "demo", guarantee: "at-least-once", ephemeral: name.startsWith("_eph."), lag: 0 })),
      subscriptionInfo: async (name: string) => {
        once();
        if (store.infoError !== undefined) throw store.infoError;
        if (!store.subs.has(name)) throw new RaftbusError("SUBSCRIPTION_NOT_FOUND", `subscription '${name}' does not exist`);
        return { name, pattern: "demo", guarantee: "at-least-once", ephemeral: name.startsWith("_eph."), lag: 0, maxInFlight: 10, inFlight: 0, delivered: 0, acked: 0, failed: 0, deadLettered: 0, createdAt: 1, deliverRate: 2 };
      },
      listTopics: async () => [...store.topics].sort().map((name) => ({ name, count: 0, bytes: 0, firstOffset: 0, nextOffset: 0, retention: {} })),
      topicInfo: async (name: string) => {
        once();
        if (!store.topics.has(name)) throw new RaftbusError("TOPIC_NOT_FOUND", `topic '${name}' does not exist`);
        return { name, createdAt: 1 };
      },
      digestAt: () => null,
      stats: async () => ({ topics: 0, subscriptions: store.subs.size, messages: 0, bytes: 0, published: 0, delivered: 0, acked: 0, failed: 0, redelivered: 0, deadLettered: 0, publishRate: 0 }),
    },
    server: {
      consumers: { membersOf: () => 0 },
      status: () => ({ nodeId: "n1", role: "leader", voters: ["n1"], learners: [], peers: [], lastIndex: 7, term: 1, commitIndex: 7, appliedIndex: 7, version: { clusterVersion: 3, clusterVersionMax: 3 } }),
      memberSpecs: () => new Map(),
      clientUrl: () => "",
    },
  } as unknown as HandlerContext;
}

describe("list pages while items are deleted", () => {
  it("subscription.list leaves out a subscription deleted after the names were listed", async () => {
    const store: Store = { subs: new Set(["_eph.s1.3", "billing", "zeta"]), topics: new Set() };
    store.between = () => store.subs.delete("_eph.s1.3");
    const res = await listSubscriptions(context(store), session, { consistency: "stale" });
    expect(res.subscriptions.map((s) => s.id)).toEqual(["billing", "zeta"]);
  });

  it("topic.list leaves out a topic deleted after the names were listed", async () => {
    const store: Store = { subs: new Set(), topics: new Set(["a", "b", "c"]) };
    store.between = () => store.topics.delete("b");
    const res = await listTopics(context(store), session, { consistency: "stale" });
    expect(res.topics.map((t) => t.name)).toEqual(["a", "c"]);
  });

  it("stats sums the delivery rates of the subscriptions still there", async () => {
    const store: Store = { subs: new Set(["_eph.s1.3", "billing", "zeta"]), topics: new Set() };
    store.between = () => store.subs.delete("_eph.s1.3");
    const res = await stats(context(store), session, { consistency: "stale" });
    expect(res.deliverRatePerSec).toBe(4);
  });

  it("any other failure of a detail read still fails the list", async () => {
    const store: Store = { subs: new Set(["billing"]), topics: new Set(), infoError: new RaftbusError("INTERNAL", "disk read failed") };
    await expect(listSubscriptions(context(store), session, { consistency: "stale" })).rejects.toMatchObject({ code: "INTERNAL" });
  });
});

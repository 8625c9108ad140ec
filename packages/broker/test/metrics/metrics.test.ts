import { describe, expect, it } from "vitest";
import type { RaftNode } from "@raftbus/raft";
import { AppliedClock } from "../../src/metrics/applied-clock.ts";
import { LabelCap, OTHER_LABEL } from "../../src/metrics/label-cap.ts";
import { NodeMetrics } from "../../src/metrics/node-metrics.ts";

describe("metrics: label cardinality cap", () => {
  it("keeps the first N values and folds the rest into _other; a forgotten value frees a slot", () => {
    const cap = new LabelCap(2);
    expect([cap.label("a"), cap.label("b"), cap.label("c"), cap.label("a")]).toEqual(["a", "b", OTHER_LABEL, "a"]);
    expect(cap.overflowed).toBe(1);
    cap.forget("b");
    expect(cap.label("c")).toBe("c");
  });
});

describe("metrics: applied clock (commit→delivery)", () => {
  it("finds the batch an index was applied in; unknown before the first mark and beyond the last", () => {
    const c = new AppliedClock();
    c.mark(10, 1000);
    c.mark(15, 2000);
    c.mark(16, 3000);
    expect(c.appliedAt(10)).toBe(1000);
    expect(c.appliedAt(9)).toBeUndefined();
    expect(c.appliedAt(11)).toBe(2000);
    expect(c.appliedAt(15)).toBe(2000);
    expect(c.appliedAt(16)).toBe(3000);
    expect(c.appliedAt(17)).toBeUndefined();
  });

  it("stays bounded: old marks fall out of the ring", () => {
    const c = new AppliedClock();
    for (let i = 1; i <= 10_000; i++) c.mark(i, i);
    expect(c.appliedAt(10_000)).toBe(10_000);
    expect(c.appliedAt(10_000 - 4095)).toBe(10_000 - 4095);
    expect(c.appliedAt(100)).toBeUndefined();
  });
});

/** A RaftNode stand-in with the few fields the collectors read. */
function fakeRaft(): RaftNode<unknown> {
  return {
    isLeader: () => true,
    status: () => ({ id: "n1", role: "leader", term: 3, commit: 20, applied: 20, lastIndex: 22, peers: [{ id: "n1", match: 22 }, { id: "n2", match: 2 }] }),
    stats: { proposals: 7, proposalBatches: 3, syncedWrites: 5, unsyncedWrites: 0, appliedEntries: 20, snapshotsTaken: 1, snapshotsRestored: 0 },
  } as unknown as RaftNode<unknown>;
}

describe("metrics: the node registry", () => {
  it("exposes Prometheus-named series with histograms, per-topic counters and default process metrics", async () => {
    const m = new NodeMetrics({ nodeId: "n1", topicLabelsMax: 1 });
    m.bind({
      raft: fakeRaft(), sessions: () => 2, consumers: () => 1,
      figures: async () => ({ topics: [{ name: "orders", messages: 4, bytes: 40, dlqSize: 1, deadLettered: 2, published: 4 }], subscriptions: [{ name: "billing", pattern: "orders", pending: 3, outstanding: 1 }] }),
    });
    m.raftObserver.storageWrite(0.004, true, 3);
    m.raftObserver.proposalBatch(3);
    m.raftObserver.applied(20, Date.now() - 50);
    m.publishCommitted(0.006, ["orders", "orders", "other.topic"]);
    m.deliveryPushed("orders", 20, 1, Date.now());
    m.settled("ack", ["orders"]);
    const text = await m.text();
    expect(text).toMatch(/^raftbus_raft_term\{node="n1"\} 3$/m);
    expect(text).toMatch(/^raftbus_raft_role\{role="leader",node="n1"\} 1$/m);
    expect(text).toMatch(/^raftbus_raft_follower_lag_entries\{peer="n2",node="n1"\} 20$/m);
    expect(text).toMatch(/^raftbus_raft_fsyncs_total\{node="n1"\} 5$/m);
    expect(text).toMatch(/^raftbus_raft_fsync_duration_seconds_bucket\{le="0.005",node="n1"\} 1$/m);
    expect(text).toMatch(/^raftbus_raft_proposal_batch_size_count\{node="n1"\} 1$/m);
    expect(text).toMatch(/^raftbus_publish_commit_duration_seconds_count\{node="n1"\} 1$/m);
    expect(text).toMatch(/^raftbus_commit_delivery_duration_seconds_count\{node="n1"\} 1$/m);
    // The cap of one topic label: the second topic is folded into _other.
    expect(text).toMatch(/^raftbus_messages_published_total\{topic="orders",node="n1"\} 2$/m);
    expect(text).toMatch(/^raftbus_messages_published_total\{topic="_other",node="n1"\} 1$/m);
    expect(text).toMatch(/^raftbus_dlq_messages\{topic="orders",node="n1"\} 1$/m);
    expect(text).toMatch(/^raftbus_subscription_pending_messages\{subscription="billing",node="n1"\} 3$/m);
    expect(text).toMatch(/^raftbus_client_sessions\{node="n1"\} 2$/m);
    expect(text).toMatch(/^process_cpu_seconds_total\{node="n1"\}/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds\{node="n1"\}/m);
    expect(await m.value("raftbus_messages_published_total")).toBe(3);
    expect(await m.quantile("raftbus_raft_fsync_duration_seconds", 0.99)).toBe(0.005);
  });
});

import { afterEach, describe, expect, it, vi } from "vitest";
import type { PublishMessage } from "@raftbus/client/protocol";
import { silentLogger } from "@raftbus/raft";
import { NodeMetrics } from "../../src/metrics/node-metrics.ts";
import { DEFAULT_SYS_SETTINGS, effectiveSettings, validateOverrides } from "../../src/sys/families.ts";
import type { SysSettings } from "../../src/sys/families.ts";
import { SysSigner } from "../../src/sys/signer.ts";
import { QUEUE_MAX, SysBus } from "../../src/sys/sys-bus.ts";

function bus(o: { settings?: SysSettings; leader?: boolean; fail?: boolean | (() => boolean); now?: () => number } = {}) {
  const published: PublishMessage[][] = [];
  const forwarded: PublishMessage[][] = [];
  const metrics = new NodeMetrics({ nodeId: "n1" });
  const b = new SysBus({
    nodeId: "n1", settings: () => o.settings ?? DEFAULT_SYS_SETTINGS, metrics, log: silentLogger(),
    signer: new SysSigner({ clusterId: "c", clusterSecret: "secret-0123456789abcdef", previousSecret: "", development: false }),
    outlet: {
      isLeader: () => o.leader ?? true,
      publish: async (m) => {
        if (o.fail === true || (typeof o.fail === "function" && o.fail())) throw new Error("no leader");
        published.push([...m]);
      },
      forward: async (m) => { forwarded.push([...m]); },
    },
    ...(o.now !== undefined ? { now: o.now } : {}),
  });
  return { b, published, forwarded, metrics };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("system events: the bus", () => {
  it("batches events into one publish and signs each", async () => {
    const { b, published } = bus();
    for (let i = 0; i < 5; i++) b.emit("audit", "topic.created", "info", { i });
    await b.close();
    expect(published).toHaveLength(1);
    expect(published[0]!.map((m) => m.topic)).toEqual(Array(5).fill("$sys.audit"));
    expect(published[0]![0]!.headers!["raftbus-sig"]).toMatch(/^v1\./);
  });

  it("a follower forwards instead of proposing", async () => {
    const { b, published, forwarded } = bus({ leader: false });
    b.emit("health", "node.health", "info", {}, "n1");
    await b.close();
    expect(published).toHaveLength(0);
    expect(forwarded[0]![0]!.topic).toBe("$sys.health.n1");
  });

  it("a family that is off or an event below the minimum severity is not published", async () => {
    const settings = effectiveSettings(DEFAULT_SYS_SETTINGS, { audit: { enabled: false }, alerts: { minSeverity: "critical" } });
    const { b, published } = bus({ settings });
    b.emit("audit", "topic.created", "info", {});
    b.emit("alerts", "alert.firing", "warning", {}, "follower-lag");
    b.emit("alerts", "alert.firing", "critical", {}, "node-failure");
    await b.close();
    expect(published.flat().map((m) => m.topic)).toEqual(["$sys.alerts.node-failure"]);
  });

  it("a flapping source is rate-limited: the burst passes, the rest is dropped and counted", async () => {
    const { b, published, metrics } = bus({ now: () => 1000 });
    for (let i = 0; i < 100; i++) b.emit("alerts", "alert.firing", "warning", { i }, "leader-flapping");
    await b.close();
    expect(published.flat()).toHaveLength(30);
    expect(await metrics.text()).toMatch(/raftbus_sys_events_dropped_total\{family="alerts",reason="rate-limited",node="n1"\} 70/);
  });

  it("a batch outlives 15 s without a leader (retries back off), then is published once", async () => {
    vi.useFakeTimers();
    let down = true;
    setTimeout(() => { down = false; }, 15_000);
    const { b, published, metrics } = bus({ fail: () => down });
    b.emit("alerts", "alert.firing", "critical", {}, "storage-full");
    await vi.advanceTimersByTimeAsync(40_000);
    expect(published.flat().map((m) => m.topic)).toEqual(["$sys.alerts.storage-full"]);
    expect(await metrics.text()).not.toMatch(/raftbus_sys_events_dropped_total\{family="alerts"/);
  });

  it("a batch no leader takes for long is dropped and counted, not retried forever", async () => {
    vi.useFakeTimers();
    const { b, published, metrics } = bus({ fail: true });
    b.emit("alerts", "alert.firing", "critical", {}, "storage-full");
    await vi.advanceTimersByTimeAsync(120_000);
    expect(published).toHaveLength(0);
    expect(b.queued).toBe(0);
    expect(await metrics.text()).toMatch(/raftbus_sys_events_dropped_total\{family="alerts",reason="undeliverable",node="n1"\} 1/);
  });

  it("the queue is bounded when no leader takes the events", () => {
    const { b, metrics } = bus({ fail: true, now: () => 0 });
    for (let i = 0; i < QUEUE_MAX + 500; i++) b.emit("audit", "x", "info", { i });
    expect(b.queued).toBeLessThanOrEqual(QUEUE_MAX);
    return metrics.text().then((t) => expect(t).toMatch(/reason="(queue-full|rate-limited)"/));
  });
});

describe("system events: settings and forwarding keys", () => {
  it("validates overrides with a clear message", () => {
    expect(validateOverrides({ health: { intervalMs: 10_000, periodic: true } })).toEqual({ health: { intervalMs: 10_000, periodic: true } });
    expect(() => validateOverrides({ healthz: {} })).toThrow(/unknown family "healthz"/);
    expect(() => validateOverrides({ health: { intervalMs: 5 } })).toThrow(/intervalMs/);
    expect(() => validateOverrides({ alerts: { minSeverity: "loud" } })).toThrow(/minSeverity/);
  });

  it("rotation: old, rotating (new + previous) and finished nodes accept each other's forwarded batches", () => {
    const oldNode = new SysSigner({ clusterId: "c", clusterSecret: "old-secret-0123456789", previousSecret: "", development: false });
    const rotated = new SysSigner({ clusterId: "c", clusterSecret: "new-secret-0123456789", previousSecret: "old-secret-0123456789", development: false });
    const done = new SysSigner({ clusterId: "c", clusterSecret: "new-secret-0123456789", previousSecret: "", development: false });
    const data = new TextEncoder().encode("batch");
    const stranger = new SysSigner({ clusterId: "c", clusterSecret: "other-secret-0123456789", previousSecret: "", development: false });
    expect(rotated.checkForwardMac(data, oldNode.forwardMacs(data))).toBe(true);
    expect(oldNode.checkForwardMac(data, rotated.forwardMacs(data))).toBe(true);
    expect(done.checkForwardMac(data, rotated.forwardMacs(data))).toBe(true);
    expect(rotated.checkForwardMac(data, done.forwardMacs(data))).toBe(true);
    expect(done.checkForwardMac(data, stranger.forwardMacs(data))).toBe(false);
    expect(done.checkForwardMac(data, oldNode.forwardMacs(data))).toBe(false);
    expect(new SysSigner({ clusterId: "c", clusterSecret: "x".repeat(16), previousSecret: "", development: true }).mode).toBe("unsigned");
  });
});

/**
 * docker/grafana ships a Grafana board and Prometheus alert rules. They are
 * only useful if every metric they query exists: this test collects the
 * metric names of every board panel and every alert expression and checks
 * each against the series a node's registry really exposes.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { RaftNode } from "@raftbus/raft";
import { NodeMetrics } from "@raftbus/broker";

const root = new URL("../../docker/grafana/", import.meta.url);

/** Names in a PromQL expression that look like metrics (not functions, keywords or labels). */
function metricNames(expr: string): string[] {
  const withoutLabels = expr.replace(/\{[^}]*\}/g, "").replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const names = withoutLabels.match(/\b[a-z_][a-z0-9_]*\b(?!\s*\()/g) ?? [];
  return names.filter((n) => n.includes("_") && !["histogram_quantile", "clamp_min"].includes(n));
}

/** Every series name a node exposes, histogram suffixes included. */
async function exposedNames(): Promise<Set<string>> {
  const m = new NodeMetrics({ nodeId: "n1", dataDir: "." });
  m.bind({
    raft: { isLeader: () => false, status: () => ({ id: "n1", role: "follower", term: 1, commit: 0, applied: 0, lastIndex: 0, peers: [] }), stats: { proposals: 0, proposalBatches: 0, syncedWrites: 0, unsyncedWrites: 0, appliedEntries: 0, snapshotsTaken: 0, snapshotsRestored: 0 } } as unknown as RaftNode<unknown>,
    sessions: () => 0, consumers: () => 0, figures: async () => ({ topics: [], subscriptions: [] }),
  });
  const text = await m.text();
  const names = new Set<string>(["up"]); // Prometheus's own per-target series
  for (const line of text.split("\n")) {
    const t = /^# TYPE (\S+) (\S+)/.exec(line);
    if (t === null) continue;
    names.add(t[1]!);
    if (t[2] === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(t[1]! + s);
  }
  return names;
}

describe("docker/grafana: board and alert rules query only metrics that exist", () => {
  it("every metric of every dashboard panel is exposed by a node", async () => {
    const board = JSON.parse(readFileSync(new URL("dashboard.json", root), "utf8")) as { panels: { title: string; targets: { expr: string }[] }[] };
    const exposed = await exposedNames();
    const missing: string[] = [];
    let checked = 0;
    for (const p of board.panels) {
      for (const t of p.targets) {
        for (const n of metricNames(t.expr)) {
          checked++;
          if (!exposed.has(n)) missing.push(`${p.title}: ${n}`);
        }
      }
    }
    expect(missing).toEqual([]);
    expect(checked).toBeGreaterThan(30);
  });

  it("every alert rule parses and queries exposed metrics; each names its $sys.alerts kind", async () => {
    const rules = parse(readFileSync(new URL("alerts.yaml", root), "utf8")) as { groups: { rules: { alert: string; expr: string; labels: { severity: string } }[] }[] };
    const exposed = await exposedNames();
    const all = rules.groups.flatMap((g) => g.rules);
    expect(all.length).toBeGreaterThanOrEqual(8);
    for (const r of all) {
      expect(["warning", "critical"]).toContain(r.labels.severity);
      for (const n of metricNames(r.expr)) expect(exposed.has(n), `${r.alert}: ${n}`).toBe(true);
    }
    const text = readFileSync(new URL("alerts.yaml", root), "utf8");
    for (const kind of ["node-failure", "leader-flapping", "follower-lag", "disk-pressure", "memory-pressure", "dlq-growth", "high-failure-rate", "storage-full"]) {
      expect(text).toContain(`$sys.alerts.${kind}`);
    }
  });

  it("the provisioning files point Grafana at Prometheus and at the board", () => {
    const ds = parse(readFileSync(new URL("provisioning/datasources/prometheus.yaml", root), "utf8")) as { datasources: { type: string }[] };
    expect(ds.datasources[0]!.type).toBe("prometheus");
    const compose = parse(readFileSync(new URL("compose.yaml", root), "utf8")) as { services: Record<string, { volumes: string[] }> };
    expect(compose.services["grafana"]!.volumes.join(" ")).toContain("dashboard.json");
    expect(compose.services["prometheus"]!.volumes.join(" ")).toContain("alerts.yaml");
  });
});

/**
 * `raftbus bench --quick` runs every workload against a cluster it starts
 * and stops, and reports each with its costs — a smoke test of the suite,
 * not of speeds (benchmarks measure; tests check behaviour).
 */
import { describe, expect, it } from "vitest";
import type { BenchReport } from "../src/bench/runner.ts";
import { runCli } from "./helpers/cluster.ts";

describe("raftbus bench", () => {
  it("--quick --json runs every default workload and reports figures and costs per process", async () => {
    const r = await runCli(["bench", "--quick", "--json"], { timeoutMs: 240_000 });
    expect(r.code, `stderr: ${r.stderr}`).toBe(0);
    const report = JSON.parse(r.stdout) as BenchReport;
    expect(report.cluster).toMatchObject({ started: true, nodes: 3 });
    expect(report.runs.map((x) => x.name)).toEqual([
      "publish-async-128", "publish-async-1k", "publish-sync", "publish-concurrent-64",
      "consume-durable", "work-queue-3", "fanout-10", "e2e-500", "e2e-5000",
    ]);
    for (const run of report.runs) {
      expect(run.error, run.name).toBeUndefined();
      expect(run.messages, run.name).toBeGreaterThan(0);
      expect(Object.keys(run.figures).length, run.name).toBeGreaterThan(0);
      expect(Object.keys(run.cost?.processes ?? {}).sort(), run.name).toEqual(["client", "n1", "n2", "n3"]);
      expect(run.cost!.fsyncs, run.name).toBeGreaterThan(0); // everything written was fsync'd somewhere
    }
    // Progress went to stderr, the report alone to stdout; the started nodes are gone.
    expect(r.stderr).toContain("stopping the cluster");
  }, 300_000);

  it("an unknown workload is a usage error (exit 2) naming the available ones", async () => {
    const r = await runCli(["bench", "nope"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("publish-async-128");
  });
});

/**
 * `raftbus bench --quick` runs every workload against a cluster it starts
 * and stops, and reports each with its costs — a smoke test of the suite,
 * not of speeds (benchmarks measure; tests check behaviour).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { BenchReport } from "../src/bench/runner.ts";
import { waitFor } from "../../../test/support/local-cluster.ts";
import { BIN, ROOT, runCli } from "./helpers/cluster.ts";

/** PIDs of `pid`'s child processes running `raftbus node start`. */
function nodeChildren(pid: number): number[] {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter((x) => x !== "").map(Number);
    return kids.filter((k) => isNodeStart(k));
  } catch {
    return [];
  }
}

function isNodeStart(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").includes(" node start ");
  } catch {
    return false; // gone
  }
}

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

  it("SIGTERM in the middle of a workload stops the nodes it started, reports what finished, then exits 130", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", BIN, "bench", "--json", "publish-sync"], {
      cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1", RAFTBUS_SERVERS: "" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    try {
      const nodes = await waitFor("the benchmark's nodes and its first workload", () => {
        const kids = nodeChildren(child.pid!);
        return kids.length === 3 && stderr.includes("publish-sync…") ? kids : undefined;
      }, 60_000, 50);
      child.kill("SIGTERM");
      expect(await exited, `stderr: ${stderr}`).toBe(130);
      expect(stderr).toContain("interrupted; the cluster it started is stopped");
      expect(JSON.parse(stdout)).toMatchObject({ interrupted: true, runs: [] });
      expect(nodes.filter(isNodeStart), "node processes left running").toEqual([]);
    } finally {
      child.kill("SIGKILL");
    }
  }, 90_000);

  it("an unknown workload is a usage error (exit 2) naming the available ones", async () => {
    const r = await runCli(["bench", "nope"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("publish-async-128");
  });
});

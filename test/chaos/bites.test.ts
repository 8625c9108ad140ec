/**
 * "It bites": each test-only switch that breaks a promise (see
 * packages/raft/src/unsafe.ts) makes a short chaos run fail, on the check
 * that guards that promise. Set RAFTBUS_CHAOS_SEED to replay a seed.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { freePort } from "./net/loopback-layer.ts";
import { runChaos } from "./run.ts";
import type { FaultKind } from "./schedule/schedule.ts";

const SEED = Number(process.env["RAFTBUS_CHAOS_SEED"] ?? Math.floor(Math.random() * 2 ** 31));
const BIN = fileURLToPath(new URL("../../packages/cli/src/bin.ts", import.meta.url));

async function bite(unsafe: string, fault: FaultKind): Promise<string[]> {
  const { report, table } = await runChaos({
    seed: SEED, timeMs: 9000, faults: [fault], unsafe, rate: 20, faultMs: [4000, 4000], quietMs: [2500, 2500], drainMs: 5000,
    outDir: join(".tmp", "chaos", `bite-${unsafe}-seed${SEED}`), command: `RAFTBUS_CHAOS_SEED=${SEED} pnpm vitest run test/chaos/bites.test.ts # or: pnpm chaos`,
    log: () => undefined,
  });
  console.log(`${unsafe}:\n${table}`);
  expect(report.availability.windows.map((w) => w.kind), `the ${fault} fault ran (seed ${SEED})`).toEqual([fault]);
  return report.verdicts.filter((v) => !v.ok && v.severity === "safety").map((v) => v.name);
}

describe(`chaos: it bites (seed ${SEED})`, () => {
  it("acknowledging before commit loses acknowledged publishes when the leader is cut off", async () => {
    expect(await bite("ack-before-commit", "isolate-leader")).toContain("lost");
  }, 240_000);

  it("followers that skip the fsync lose acknowledged data in a power cut", async () => {
    // Which check fires depends on who restarts first: a follower whose broker
    // state (in the page cache, which kill -9 keeps) is ahead of its lost log
    // refuses to start; otherwise the new leader truncates acknowledged entries.
    const failed = await bite("follower-no-fsync", "power-cut");
    expect(failed.filter((f) => ["lost", "divergence", "node-crashes"].includes(f)).length, failed.join(",")).toBeGreaterThan(0);
  }, 300_000);

  it("skipping the dedup check stores resent messages twice", async () => {
    expect(await bite("skip-dedup", "kill")).toContain("duplicated");
  }, 240_000);

  it("a switch without its confirmation stops the node at start-up", async () => {
    const dir = mkdtempSync(join(tmpdir(), "raftbus-unsafe-"));
    const ports = [String(await freePort()), String(await freePort())];
    const r = spawnSync(process.execPath, ["--import", "tsx", BIN, "node", "start", "--id", "n1", "--data-dir", dir, "--client-port", ports[0]!, "--peer-port", ports[1]!], {
      env: { ...process.env, RAFTBUS_UNSAFE: "skip-dedup" }, encoding: "utf8", timeout: 60_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("RAFTBUS_UNSAFE_CONFIRM");
    rmSync(dir, { recursive: true, force: true });
  }, 70_000);
});

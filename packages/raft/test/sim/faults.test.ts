/**
 * The simulator's checks bite: with a core broken on purpose through its
 * test-only `unsafeFaults` switches, runs fail, naming the seed and the
 * invariant. A checker that never fails proves nothing.
 *
 * - voteTwice: random search over seeds finds it within a few seeds ("one
 *   vote per term"); a targeted scenario with that check switched off shows
 *   the next line of defence ("election safety": two leaders in one term).
 * - commitOldTermEntries: random runs almost never produce Figure 8 (every
 *   new leader's no-op travels with the old entries), so a targeted replay of
 *   Figure 8 shows the breach ("leader completeness").
 */
import { describe, expect, it } from "vitest";
import type { RaftConfig } from "../../src/core/config.ts";
import type { NodeId } from "../../src/core/types.ts";
import { SafetyViolation } from "./checker.ts";
import type { SimResult } from "./cluster.ts";
import { defaultSimOptions, replayCommand, runSeed } from "./cluster.ts";
import { runFigure8 } from "./figure8.ts";
import { failureMessage } from "./sim-runner.ts";
import { RecordingChecker, ScenarioCluster } from "./scenario-harness.ts";

const STEPS = 2000;
const SEEDS_MAX = 300;

/** Run seeds 1, 2, … with the fault until one fails (at most SEEDS_MAX). */
function firstFailure(coreFaults: NonNullable<RaftConfig["unsafeFaults"]>): SimResult | undefined {
  for (let seed = 1; seed <= SEEDS_MAX; seed++) {
    const r = runSeed({ ...defaultSimOptions(seed, STEPS), coreFaults });
    if (!r.ok) return r;
  }
  return undefined;
}

/** Run `scenario`, returning the safety violation it must end in. */
function violationOf(scenario: () => void): SafetyViolation {
  try {
    scenario();
  } catch (e) {
    if (e instanceof SafetyViolation) return e;
    throw e;
  }
  throw new Error("the scenario ran without a safety violation");
}

/**
 * The two followers of a 3-node cluster time out in the same term while they
 * cannot reach each other; the old leader hears both. Only its vote decides.
 */
function splitCampaign(c: ScenarioCluster): void {
  const l = c.waitLeader();
  c.proposeAndWait(1, 3);
  const [a, b] = c.ids.filter((id) => id !== l) as [NodeId, NodeId];
  c.net.cut(a, b);
  const term = c.core(a).term;
  c.inject({ type: "timeoutNow", from: l, to: a, term });
  c.inject({ type: "timeoutNow", from: l, to: b, term });
  c.run(5);
}

/** A checker with the one-vote-per-term check switched off, to show the leader check alone. */
class NoVoteCheck extends RecordingChecker {
  override hardStatePersisted(_id: NodeId, _term: number, _vote: NodeId | null): void {}
}

describe("faults: the simulator catches a broken core", () => {
  it(`voteTwice: random seeds fail with "one vote per term", naming the seed (≤ ${SEEDS_MAX} seeds)`, () => {
    const r = firstFailure({ voteTwice: true });
    expect(r, `no seed in 1..${SEEDS_MAX} caught voteTwice`).toBeDefined();
    expect(r!.ok).toBe(false);
    expect(r!.error).toMatch(/^SafetyViolation: one vote per term: n\d voted n\d then n\d in term \d+/);
    const message = failureMessage({ from: 1, count: SEEDS_MAX, steps: STEPS }, r!, "faults.test.ts");
    expect(message).toContain(`seed ${r!.seed} failed`);
    expect(message).toContain(replayCommand(r!.seed, STEPS));
    expect(message).toContain("one vote per term");
  });

  it("voteTwice: two candidates of one term both win with the same third vote: election safety (R=3)", () => {
    const c = new ScenarioCluster({ voters: 3, seed: 1, coreFaults: { voteTwice: true }, checker: new NoVoteCheck() });
    const v = violationOf(() => splitCampaign(c));
    expect(v.invariant).toBe("election safety");
    expect(v.message).toMatch(/term \d+ has two leaders/);
  });

  it("correct core: the same split campaign elects exactly one leader (R=3)", () => {
    const c = new ScenarioCluster({ voters: 3, seed: 1, checker: new NoVoteCheck() });
    splitCampaign(c);
    expect(c.leaders()).toHaveLength(1);
  });

  it("commitOldTermEntries: Figure 8 ends in a leader completeness violation (R=5)", () => {
    const c = new ScenarioCluster({ voters: 5, seed: 1, coreFaults: { commitOldTermEntries: true } });
    const v = violationOf(() => runFigure8(c));
    expect(v.invariant).toBe("leader completeness");
    expect(v.message).toMatch(/leader n5 of term \d+ has term \d+ at committed index \d+/);
  });

  it("commitOldTermEntries: the breach is the commit itself, seen across seeds of the replay (R=5)", () => {
    for (const seed of [2, 3, 4]) {
      const c = new ScenarioCluster({ voters: 5, seed, coreFaults: { commitOldTermEntries: true } });
      expect(violationOf(() => runFigure8(c)).invariant, `seed ${seed}`).toBe("leader completeness");
    }
  });
});

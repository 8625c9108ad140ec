/**
 * Figure 8 of the Raft paper, replayed step by step on a five-node scenario
 * cluster (n1..n5 are the paper's S1..S5). It is the situation §5.4.2 is
 * about: an entry from an older term stored on a majority can still be
 * overwritten, so a leader must not commit it by counting replicas.
 *
 *   (a) n1 leads term t1 and replicates entry A at index k to n2 only.
 *   (b) n1 crashes; n5 is elected for t2 by n3, n4, n5 and appends its own
 *       entry at k (its no-op), which reaches nobody; n5 crashes.
 *   (c) n1 restarts and is elected for t3 by n2, n3; it replicates A to n3,
 *       so A is on a majority (n1, n2, n3), but n1's own t3 entry never
 *       arrives. A correct leader does not commit A (the checker's
 *       "commit only entries of the leader's term" catches one that does).
 *   (d) n1 crashes; n5 restarts and is elected for t4 by n2, n3, n4 (its
 *       last term t2 beats their t1) and overwrites A at k.
 *
 * With a correct core A is never applied anywhere.
 */
import type { Message, NodeId } from "../../src/core/types.ts";
import type { ScenarioCluster } from "./scenario.ts";

/** What the scenario observed; `k` is the contested index. */
export interface Figure8Outcome {
  readonly k: number;
  /** The terms of phases (a) to (d). */
  readonly terms: readonly [number, number, number, number];
  /** n1's commit index at the end of (c), with A on n1, n2 and n3. */
  readonly commitAfterC: number;
  /** Nodes holding A (index k, term t1) at the end of (c). */
  readonly holdersOfAAfterC: readonly NodeId[];
}

/** The client value of entry A. */
export const FIGURE8_VALUE = 8888;

/** Run Figure 8 on `c`, a fresh five-voter ScenarioCluster. Throws if the checker finds a violation. */
export async function runFigure8(c: ScenarioCluster): Promise<Figure8Outcome> {
  const [n1, n2, n3, n4, n5] = ["n1", "n2", "n3", "n4", "n5"] as const;
  const T = c.electionTicks;
  const maxT = 30 * T;
  await c.waitLeader();
  if (c.leader() !== n1) {
    await c.forceCampaign(n1);
    await c.waitLeader();
  }
  await c.proposeAndWait(1, 5);

  // (a) n1 (term t1) gets A to n2 only.
  const t1 = c.core(n1).term;
  c.partition([n1, n2], [n3, n4, n5]);
  const a = await c.propose(FIGURE8_VALUE, n1);
  if (a === undefined) throw new Error("(a): n1 refused A");
  const k = a.index;
  await c.runUntil(() => c.core(n2).log.term(k) === t1, T / 2, "(a): A on n2");
  c.crash(n1);

  // (b) n5 wins t2 with n3 and n4; its entry at k reaches nobody.
  c.partition([n3, n4, n5], [n2]);
  c.dropIf = (m) => m.from === n5 && m.type === "app";
  await c.forceCampaign(n5);
  await c.runUntil(() => c.core(n5).role === "leader", maxT, "(b): n5 to lead");
  const t2 = c.core(n5).term;
  if (c.core(n5).log.term(k) !== t2) throw new Error("(b): n5 has no entry of its term at k");
  c.crash(n5);
  c.dropIf = undefined;

  // (c) n1 wins t3 with n2 and n3 and copies A to n3; its own t3 entries are lost.
  await c.restart(n1);
  c.partition([n1, n2, n3], [n4]);
  c.rewrite = (m: Message) => m.type === "app" && m.from === n1
    ? { ...m, entries: m.entries.filter((e) => e.term < m.term) }
    : m;
  await c.forceCampaign(n1);
  await c.runUntil(() => c.core(n1).role === "leader", maxT, "(c): n1 to lead");
  const t3 = c.core(n1).term;
  await c.runUntil(() => c.core(n3).log.term(k) === t1, maxT, "(c): A on n3");
  await c.run(3); // the acknowledgements reach n1
  const holdersOfAAfterC = [n1, n2, n3, n4].filter((id) => c.core(id).log.term(k) === t1);
  const commitAfterC = c.core(n1).log.committed;
  c.crash(n1);
  c.rewrite = undefined;

  // (d) n5 wins t4 with n2, n3, n4 and overwrites A.
  await c.restart(n5);
  c.heal();
  await c.forceCampaign(n5);
  await c.runUntil(() => c.core(n5).role === "leader", maxT, "(d): n5 to lead");
  const t4 = c.core(n5).term;
  await c.restart(n1);
  await c.settle();
  return { k, terms: [t1, t2, t3, t4], commitAfterC, holdersOfAAfterC };
}

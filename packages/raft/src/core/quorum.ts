/**
 * Majority arithmetic over the voters of one configuration.
 */
import type { NodeId } from "./types.ts";

/** How many votes make a majority of `n` voters. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * The largest index that a majority of voters has matched: sort the match
 * indexes descending and take the majority-th one. Voters with no entry in
 * `match` count as 0.
 */
export function committedIndex(voters: readonly NodeId[], match: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const matches = voters.map(match).sort((a, b) => b - a);
  return matches[majority(voters.length) - 1] ?? 0;
}

/** Outcome of an election tally. */
export type VoteResult = "won" | "lost" | "pending";

/** Tally granted/rejected votes of `voters`. */
export function tallyVotes(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let granted = 0;
  let rejected = 0;
  for (const v of voters) {
    const g = votes.get(v);
    if (g === true) granted++;
    else if (g === false) rejected++;
  }
  const need = majority(voters.length);
  if (granted >= need) return "won";
  if (voters.length - rejected < need) return "lost";
  return "pending";
}

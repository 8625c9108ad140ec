/**
 * A new cluster runs cluster version 0 ("not set") until its first leader
 * has heard from every member and committed `setClusterVersion`
 * (cluster-upkeep.ts): a moment after the nodes start, longer on a busy
 * machine or while a member is still starting. A command that needs more
 * than the base version, sent in that window (`raftbus key add` right after
 * `pnpm start`; seen in CI), waits for the version instead of failing with
 * FEATURE_NOT_ENABLED. A cluster whose version is set is answered at once,
 * as before: there the refusal means an upgrade is not finalized.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import type { Command } from "../../commands/types.ts";
import type { HandlerContext } from "../node-server.ts";
import { requireLeader } from "./leader.ts";

/** How long a request waits for a new cluster's version, and how often it looks. */
export interface FreshVersionWait {
  readonly timeoutMs: number;
  readonly pollMs: number;
}

/** Within a request's usual timeout; the upkeep retries every 250 ms while the version is unset. */
export const FRESH_VERSION_WAIT: FreshVersionWait = { timeoutMs: 10_000, pollMs: 50 };

/**
 * `ctx.broker.checkProposal(build())`, waiting first for a new cluster's
 * version when the command needs it. `build` runs again after a wait, so the
 * command's `now` is read when it is proposed, not before the wait.
 */
export async function checkVersionedProposal(ctx: HandlerContext, build: () => unknown, wait: FreshVersionWait = FRESH_VERSION_WAIT): Promise<Command> {
  try {
    return ctx.broker.checkProposal(build());
  } catch (err) {
    if (!(err instanceof RaftbusError) || err.code !== "FEATURE_NOT_ENABLED" || ctx.broker.clusterVersion() !== 0) throw err;
  }
  const deadline = Date.now() + wait.timeoutMs;
  while (ctx.broker.clusterVersion() === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, wait.pollMs));
  }
  if (ctx.broker.clusterVersion() === 0) {
    throw new RaftbusError("FEATURE_NOT_ENABLED", "this new cluster has not set its cluster version yet: its leader sets it once every member has answered. " +
      "Is every node running? (raftbus cluster status)");
  }
  requireLeader(ctx);
  return ctx.broker.checkProposal(build());
}

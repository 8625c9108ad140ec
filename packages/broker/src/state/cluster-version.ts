/**
 * apply() of setClusterVersion: the cluster version only goes up (a lower
 * or equal one is refused alike on every replica). The entry itself carries
 * the target as its needed version, so a node whose build does not
 * implement the target never gets here: it refused the entry in decode.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import type { SetClusterVersionCommand } from "../commands/types.ts";
import { effectiveVersion } from "../version/cluster-version.ts";
import type { ApplyContext } from "./context.ts";
import type { CommandResult } from "./results.ts";

/** Raises the replicated cluster version to `c.version`. */
export function applySetClusterVersion(ctx: ApplyContext, c: SetClusterVersionCommand): CommandResult {
  const previous = ctx.state.meta.clusterVersion;
  if (c.version <= previous) {
    throw new RaftbusError("INVALID_ARGUMENT", `the cluster already runs version ${previous}; a cluster version never goes down (asked for ${c.version})`);
  }
  ctx.state.meta.clusterVersion = c.version;
  return { ok: true, type: "setClusterVersion", version: c.version, previous: effectiveVersion(previous) };
}

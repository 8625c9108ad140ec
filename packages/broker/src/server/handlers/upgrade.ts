/**
 * `cluster.finalize-upgrade`: the last step of a rolling upgrade. Once
 * every member runs the new release, the leader raises the replicated
 * cluster version; from then on the leader may write what the new release
 * added (version/cluster-version.ts). Until then the cluster keeps writing
 * only what the oldest member understands, so a node can still be rolled
 * back to the older release.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import type { FinalizeUpgradeRequest, FinalizeUpgradeResponse } from "@raftbus/client/protocol";
import { effectiveVersion, versionChanges } from "../../version/cluster-version.ts";
import { memberVersions } from "../member-versions.ts";
import type { MemberVersion, VersionContext } from "../member-versions.ts";
import type { HandlerContext } from "../node-server.ts";
import { proposeCommand } from "../proposer.ts";
import type { ClientSession } from "../session.ts";
import { requireLeader } from "./leader.ts";

/** `cluster.finalize-upgrade`. */
export async function finalizeUpgrade(ctx: HandlerContext, _s: ClientSession, body: FinalizeUpgradeRequest): Promise<FinalizeUpgradeResponse> {
  requireLeader(ctx);
  const members = await memberVersions(ctx);
  const unknown = members.filter((m) => m.clusterVersionMax === null).map((m) => m.id);
  if (unknown.length > 0) {
    throw new RaftbusError("VERSION_MISMATCH", `cannot tell which release ${unknown.join(", ")} run${unknown.length === 1 ? "s" : ""} (no answer on the client port); start ${unknown.length === 1 ? "it" : "them"} or remove ${unknown.length === 1 ? "it" : "them"}, then finalize`);
  }
  // By default: the newest version any member implements — the release being
  // upgraded to. Not the leader's own: an old-release node that happens to
  // lead would otherwise report "already finalized" in a mixed cluster.
  const target = body.version ?? Math.max(ctx.broker.config.clusterVersionMax, ...members.map((m) => m.clusterVersionMax ?? 0));
  const behind = members.filter((m) => (m.clusterVersionMax ?? 0) < target);
  if (behind.length > 0) {
    throw new RaftbusError("VERSION_MISMATCH", `cluster version ${target} is not implemented by ${behind.map((m) => `${m.id} (up to ${m.clusterVersionMax ?? "?"})`).join(", ")}: upgrade ${behind.length === 1 ? "it" : "them"} first`);
  }
  const previous = ctx.broker.clusterVersion();
  const result = await raiseClusterVersion(ctx, target);
  return { previous: effectiveVersion(previous), version: result, enabled: versionChanges(effectiveVersion(previous), result), members: asResponse(members) };
}

/**
 * Proposes setClusterVersion(target) unless the cluster already runs it (or
 * more); resolves with the version in force afterwards.
 */
export async function raiseClusterVersion(ctx: VersionContext, target: number): Promise<number> {
  const current = ctx.broker.clusterVersion();
  if (target <= current) return current;
  const res = await proposeCommand(ctx.raft, ctx.broker.checkProposal({ type: "setClusterVersion", now: Date.now(), version: target }) as { type: "setClusterVersion"; now: number; version: number });
  return res.version;
}

function asResponse(members: readonly MemberVersion[]): FinalizeUpgradeResponse["members"] {
  return members.map((m) => ({ id: m.id, clusterVersionMax: m.clusterVersionMax ?? 0 }));
}

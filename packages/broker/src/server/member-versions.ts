/**
 * Which cluster versions the members' builds implement, as each member
 * reports in its /v1/status. The leader asks before raising the cluster
 * version: a member that does not answer counts as unknown, and the version
 * is not raised past what every member is known to implement.
 */
import type { HandlerContext } from "./node-server.ts";
import type { NodeStatus } from "./http-routes.ts";
import type { PeerSpec } from "./config.ts";
import { BASE_CLUSTER_VERSION } from "../version/cluster-version.ts";
import { getMemberJson } from "./member-http.ts";
import type { NodeTls } from "./tls.ts";

/** How long the leader waits for one member's status. */
const MEMBER_STATUS_TIMEOUT_MS = 1500;

/** One member's build, or `null` when it did not answer. */
export interface MemberVersion {
  readonly id: string;
  readonly clusterVersionMax: number | null;
}

/** The parts of the node this needs. */
export type VersionContext = Pick<HandlerContext, "config" | "raft" | "broker" | "server">;

/** Every member's (voters and learners) highest implemented cluster version, in id order. */
export async function memberVersions(ctx: VersionContext): Promise<MemberVersion[]> {
  const conf = ctx.raft.status().appliedConf;
  const ids = [...new Set([...conf.voters, ...conf.learners])].sort();
  const specs = ctx.server.memberSpecs();
  return Promise.all(ids.map(async (id) => {
    if (id === ctx.config.id) return { id, clusterVersionMax: ctx.broker.config.clusterVersionMax };
    const spec = specs.get(id);
    return { id, clusterVersionMax: spec === undefined ? null : await fetchVersionMax(spec, ctx.server.tls) };
  }));
}

/** The highest version every member implements, or undefined when a member's is unknown. */
export function commonVersion(members: readonly MemberVersion[]): number | undefined {
  let min = Number.POSITIVE_INFINITY;
  for (const m of members) {
    if (m.clusterVersionMax === null) return undefined;
    min = Math.min(min, m.clusterVersionMax);
  }
  return Number.isFinite(min) ? min : undefined;
}

async function fetchVersionMax(p: PeerSpec, tls: NodeTls | undefined): Promise<number | null> {
  const status = (await getMemberJson(p, "/v1/status", tls, MEMBER_STATUS_TIMEOUT_MS)) as Partial<NodeStatus> | undefined;
  if (status === undefined || typeof status !== "object" || status === null) return null;
  const max = status.version?.clusterVersionMax;
  // A build from before cluster versions reports none: it implements the base version.
  if (max === undefined) return BASE_CLUSTER_VERSION;
  return Number.isSafeInteger(max) && max >= BASE_CLUSTER_VERSION ? max : null;
}

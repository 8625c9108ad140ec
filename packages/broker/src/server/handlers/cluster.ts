/**
 * Cluster requests: ping, status (this node's view plus every member's own
 * /v1/status), leader transfer and membership changes through the Raft log.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import type {
  AddNodeRequest, ClusterMember, ClusterNodeStatus, ClusterStatusResponse, MembershipResponse, PingResponse,
  RemoveNodeRequest, TransferLeaderRequest, TransferLeaderResponse,
} from "@raftbus/client/protocol";
import type { PeerSpec } from "../config.ts";
import type { NodeStatus } from "../http-routes.ts";
import type { HandlerContext } from "../node-server.ts";
import { BASE_CLUSTER_VERSION } from "../../version/cluster-version.ts";
import { compareReplicas } from "./agreement.ts";

/** How long cluster status waits for a member's own status. */
const MEMBER_STATUS_TIMEOUT_MS = 1500;

/** `ping`. */
export async function ping(ctx: HandlerContext): Promise<PingResponse> {
  return { nodeId: ctx.config.id, time: Date.now() };
}

async function fetchDigest(p: PeerSpec, index: number): Promise<string | null> {
  try {
    const res = await fetch(`http://${p.host}:${p.clientPort}/v1/digest?index=${index}`, { signal: AbortSignal.timeout(MEMBER_STATUS_TIMEOUT_MS) });
    if (!res.ok) return null;
    const body = (await res.json()) as { digest?: unknown };
    return typeof body.digest === "string" ? body.digest : null;
  } catch {
    return null; // did not answer: reported as not compared
  }
}

async function fetchStatus(p: PeerSpec): Promise<NodeStatus | undefined> {
  try {
    const res = await fetch(`http://${p.host}:${p.clientPort}/v1/status`, { signal: AbortSignal.timeout(MEMBER_STATUS_TIMEOUT_MS) });
    return res.ok ? ((await res.json()) as NodeStatus) : undefined;
  } catch {
    return undefined; // unreachable members are reported as such
  }
}

/** `cluster.status`: every member as it reports itself, with the leader's replication view. */
export async function clusterStatus(ctx: HandlerContext): Promise<ClusterStatusResponse> {
  const self = ctx.server.status();
  const members = ctx.server.memberSpecs();
  const ids = [...new Set([...self.voters, ...self.learners])].sort();
  const nodes: ClusterNodeStatus[] = await Promise.all(ids.map(async (id) => {
    const spec = members.get(id);
    const st = id === self.nodeId ? self : spec ? await fetchStatus(spec) : undefined;
    const view = self.peers.find((p) => p.id === id);
    return {
      id,
      clientAddress: spec ? `ws://${spec.host}:${spec.clientPort}` : "",
      peerAddress: spec ? `${spec.host}:${spec.peerPort}` : "",
      role: st === undefined ? "unknown" : st.role === "leader" ? "leader" : self.learners.includes(id) ? "learner" : st.role === "follower" ? "follower" : "candidate",
      voter: self.voters.includes(id),
      healthy: st !== undefined,
      term: st?.term ?? null,
      commitIndex: st?.commitIndex ?? null,
      appliedIndex: st?.appliedIndex ?? null,
      matchIndex: id === self.nodeId ? self.lastIndex : view?.matchIndex ?? null,
      lastContactMs: id === self.nodeId ? 0 : view?.lastContactMs ?? null,
      ...(typeof st?.stateDigest === "string" ? { stateDigest: st.stateDigest } : {}),
      // A build from before cluster versions reports none: it implements the base version.
      clusterVersionMax: st === undefined ? null : st.version?.clusterVersionMax ?? BASE_CLUSTER_VERSION,
      ...(typeof st?.disk?.low === "boolean" ? { diskFull: st.disk.low } : {}),
      ...(typeof st?.disk?.freeBytes === "number" ? { diskFreeBytes: st.disk.freeBytes } : {}),
    };
  }));
  const compared = await compareReplicas(nodes.map((n) => ({
    id: n.id,
    appliedIndex: n.appliedIndex,
    digestAt: async (index: number) => {
      if (n.id === self.nodeId) return ctx.broker.digestAt(index) ?? null;
      const spec = members.get(n.id);
      return spec === undefined ? null : fetchDigest(spec, index);
    },
  })));
  return {
    nodeId: self.nodeId, leaderId: self.leaderId, term: self.term, commitIndex: self.commitIndex,
    nodes: compared === undefined ? nodes : nodes.map((n) => (compared.digests.has(n.id) ? { ...n, comparedDigest: compared.digests.get(n.id) ?? null } : n)),
    ...(compared !== undefined ? { agreement: compared.agreement } : {}),
    clusterVersion: self.version.clusterVersion,
  };
}

/** `cluster.transfer-leader`. */
export async function transferLeader(ctx: HandlerContext, _s: unknown, body: TransferLeaderRequest): Promise<TransferLeaderResponse> {
  const st = ctx.raft.status();
  if (st.role !== "leader") throw new RaftbusError("NOT_LEADER", "leader transfer is done by the leader", leaderHint(ctx));
  let to = body.to;
  if (to === undefined) {
    const best = [...st.peers].filter((p) => p.id !== st.id && st.conf.voters.includes(p.id)).sort((a, b) => b.match - a.match)[0];
    if (best === undefined) throw new RaftbusError("INVALID_ARGUMENT", "no other voter to transfer leadership to");
    to = best.id;
  }
  if (!st.conf.voters.includes(to)) throw new RaftbusError("INVALID_ARGUMENT", `${to} is not a voter`);
  await ctx.raft.transferLeader(to);
  return { from: st.id, to };
}

function leaderHint(ctx: HandlerContext): { leaderHint: string } | Record<string, never> {
  const a = ctx.server.leaderAddress(ctx.raft.leaderId());
  return a === undefined ? {} : { leaderHint: a };
}

function parseHostPort(addr: string, what: string): { host: string; port: number } {
  const m = /^(?:ws:\/\/)?([^:/\s]+):(\d{1,5})\/?$/.exec(addr);
  if (m === null) throw new RaftbusError("INVALID_ARGUMENT", `${what} "${addr}" must be host:port`);
  return { host: m[1]!, port: Number(m[2]) };
}

function membersOf(ctx: HandlerContext): ClusterMember[] {
  const st = ctx.raft.status();
  const specs = ctx.server.memberSpecs();
  return [...st.conf.voters, ...st.conf.learners].map((id) => {
    const p = specs.get(id);
    return { id, peerAddress: p ? `${p.host}:${p.peerPort}` : "", clientAddress: p ? `ws://${p.host}:${p.clientPort}` : "", voter: st.conf.voters.includes(id) };
  });
}

/** `cluster.add-node`: add a voter (or learner) through the log; its address travels in the change. */
export async function addNode(ctx: HandlerContext, _s: unknown, body: AddNodeRequest): Promise<MembershipResponse> {
  const peer = parseHostPort(body.peerAddress, "peerAddress");
  const client = parseHostPort(body.clientAddress, "clientAddress");
  const spec: PeerSpec = { id: body.id, host: peer.host, peerPort: peer.port, clientPort: client.port };
  ctx.server.learnMember(spec);
  await ctx.raft.proposeConfChange({ kind: body.voter === false ? "addLearner" : "addVoter", node: body.id, context: JSON.stringify(spec) });
  return { index: ctx.raft.status().commit, members: membersOf(ctx) };
}

/** `cluster.remove-node`. */
export async function removeNode(ctx: HandlerContext, _s: unknown, body: RemoveNodeRequest): Promise<MembershipResponse> {
  await ctx.raft.proposeConfChange({ kind: "removeNode", node: body.id });
  return { index: ctx.raft.status().commit, members: membersOf(ctx) };
}

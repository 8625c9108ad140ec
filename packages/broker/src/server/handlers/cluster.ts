/**
 * Cluster requests: ping, status (this node's view plus every member's own
 * /v1/status), leader transfer and membership changes through the Raft log.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import type {
  AddNodeRequest, ClusterMember, ClusterNodeStatus, ClusterStatusResponse, MembershipResponse, PingResponse,
  RemoveNodeRequest, TransferLeaderRequest, TransferLeaderResponse,
} from "@raftbus/client/protocol";
import type { ConfState } from "@raftbus/raft";
import type { PeerSpec } from "../config.ts";
import type { NodeStatus } from "../http-routes.ts";
import { getMemberJson } from "../member-http.ts";
import type { NodeTls } from "../tls.ts";
import type { HandlerContext } from "../node-server.ts";
import { BASE_CLUSTER_VERSION } from "../../version/cluster-version.ts";
import { compareReplicas } from "./agreement.ts";
import { requireLeader } from "./leader.ts";

/** How long cluster status waits for a member's own status. */
const MEMBER_STATUS_TIMEOUT_MS = 1500;

/** `ping`. */
export async function ping(ctx: HandlerContext): Promise<PingResponse> {
  return { nodeId: ctx.config.id, time: Date.now() };
}

async function fetchDigest(p: PeerSpec, index: number, tls: NodeTls | undefined): Promise<string | null> {
  const body = (await getMemberJson(p, `/v1/digest?index=${index}`, tls, MEMBER_STATUS_TIMEOUT_MS)) as { digest?: unknown } | undefined;
  // No answer is reported as not compared.
  return typeof body === "object" && body !== null && typeof body.digest === "string" ? body.digest : null;
}

async function fetchStatus(p: PeerSpec, tls: NodeTls | undefined): Promise<NodeStatus | undefined> {
  const body = await getMemberJson(p, "/v1/status", tls, MEMBER_STATUS_TIMEOUT_MS);
  // Unreachable members are reported as such.
  return typeof body === "object" && body !== null ? (body as NodeStatus) : undefined;
}

/** `cluster.status`: every member as it reports itself, with the leader's replication view. */
export async function clusterStatus(ctx: HandlerContext): Promise<ClusterStatusResponse> {
  const self = ctx.server.status();
  const members = ctx.server.memberSpecs();
  const ids = [...new Set([...self.voters, ...self.learners])].sort();
  const nodes: ClusterNodeStatus[] = await Promise.all(ids.map(async (id) => {
    const spec = members.get(id);
    const st = id === self.nodeId ? self : spec ? await fetchStatus(spec, ctx.server.tls) : undefined;
    const view = self.peers.find((p) => p.id === id);
    return {
      id,
      clientAddress: spec ? ctx.server.clientUrl(spec) : "",
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
      return spec === undefined ? null : fetchDigest(spec, index, ctx.server.tls);
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
  const m = /^(?:wss?:\/\/)?([^:/\s]+):(\d{1,5})\/?$/.exec(addr);
  if (m === null) throw new RaftbusError("INVALID_ARGUMENT", `${what} "${addr}" must be host:port`);
  return { host: m[1]!, port: Number(m[2]) };
}

function membersOf(ctx: HandlerContext): ClusterMember[] {
  const st = ctx.raft.status();
  const specs = ctx.server.memberSpecs();
  return [...st.conf.voters, ...st.conf.learners].map((id) => {
    const p = specs.get(id);
    return { id, peerAddress: p ? `${p.host}:${p.peerPort}` : "", clientAddress: p ? ctx.server.clientUrl(p) : "", voter: st.conf.voters.includes(id) };
  });
}

/**
 * `cluster.add-node`: add a voter (or learner) through the log; its address
 * travels in the change and takes effect where the change is applied, i.e.
 * once committed (NodeServer.onConfApplied), never before. Decided by the
 * leader alone against the latest configuration: an id that is already a
 * member is refused (MEMBER_EXISTS), except a learner's promotion, which
 * keeps its committed address.
 */
export async function addNode(ctx: HandlerContext, _s: unknown, body: AddNodeRequest): Promise<MembershipResponse> {
  const peer = parseHostPort(body.peerAddress, "peerAddress");
  const client = parseHostPort(body.clientAddress, "clientAddress");
  const spec: PeerSpec = { id: body.id, host: peer.host, peerPort: peer.port, clientPort: client.port };
  // Decided by the leader alone: a follower neither proposes nor records anything.
  requireLeader(ctx);
  const st = ctx.raft.status();
  const voter = body.voter !== false;
  const promotion = checkNewMember(st.conf, ctx.server.memberSpecs().get(body.id), spec, voter);
  // A promotion carries no address: the learner's committed one stays (state/members.ts keeps it too).
  await ctx.raft.proposeConfChange({ kind: voter ? "addVoter" : "addLearner", node: body.id, ...(promotion ? {} : { context: JSON.stringify(spec) }) });
  return { index: ctx.raft.status().commit, members: membersOf(ctx) };
}

/**
 * Refuses an add for an id already in `conf` (MEMBER_EXISTS), and a voter
 * the current single voter could not commit without. Returns true for a
 * learner's promotion to voter at its committed address.
 */
function checkNewMember(conf: ConfState, known: PeerSpec | undefined, asked: PeerSpec, voter: boolean): boolean {
  const id = asked.id;
  const where = known === undefined ? "" : ` at peer ${known.host}:${known.peerPort}, client ${known.host}:${known.clientPort}`;
  const again = `remove it first (\`raftbus cluster remove-node ${id}\`) to add it at another address`;
  if (conf.voters.includes(id)) throw new RaftbusError("MEMBER_EXISTS", `${id} is already a voter${where}; ${again}`, { details: { id } });
  if (conf.learners.includes(id)) {
    if (!voter) throw new RaftbusError("MEMBER_EXISTS", `${id} is already a learner${where}; ${again}`, { details: { id } });
    const same = known === undefined || (known.host === asked.host && known.peerPort === asked.peerPort && known.clientPort === asked.clientPort);
    if (!same) throw new RaftbusError("MEMBER_EXISTS", `${id} is a learner${where}: a promotion keeps its address (asked for ${asked.host}:${asked.peerPort}); ${again}`, { details: { id } });
    return true;
  }
  // One voter plus a new one need both for a majority, and the leader only dials members
  // whose addition committed: the change could never commit.
  if (voter && conf.voters.length === 1) {
    throw new RaftbusError("INVALID_ARGUMENT", `a single voter cannot add a voter directly (the change would need ${id} to commit); add it as a learner first (--learner, or start it with --join), then promote it`);
  }
  return false;
}

/** `cluster.remove-node`. */
export async function removeNode(ctx: HandlerContext, _s: unknown, body: RemoveNodeRequest): Promise<MembershipResponse> {
  await ctx.raft.proposeConfChange({ kind: "removeNode", node: body.id });
  return { index: ctx.raft.status().commit, members: membersOf(ctx) };
}

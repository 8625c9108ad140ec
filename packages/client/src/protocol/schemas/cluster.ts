/** Body group: cluster status, membership and leadership (SPEC §5). */
import { NODE_ROLES } from "../message.ts";
import { arr, bool, Empty, nat, nonEmptyStr, nullable, oneOf, opt, pos, shape, str } from "./wire.ts";

/** One member of the cluster as seen by the answering node. */
export const ClusterNodeStatus = shape("ClusterNodeStatus", {
  id: nonEmptyStr("node id"),
  clientAddress: str("client WebSocket address, e.g. ws://10.0.0.2:7001"),
  peerAddress: str("peer address host:port"),
  role: oneOf(NODE_ROLES, "Raft role; unknown when unreachable"),
  voter: bool("votes (false: learner)"),
  healthy: bool("reachable and caught up"),
  term: nullable(nat(), "null when unreachable"),
  commitIndex: nullable(nat(), "null when unreachable"),
  appliedIndex: nullable(nat(), "null when unreachable"),
  matchIndex: nullable(nat(), "leader's view of its replicated index; null when not known"),
  lastContactMs: nullable(nat(), "since the leader last heard from it"),
  stateDigest: opt(str("digest of the replicated state at appliedIndex (a SHA-256 chain over every applied entry and its result); equal digests at equal indexes show replicas agree")),
  comparedDigest: opt(nullable(str(), "its state digest at the agreement index; null when it no longer remembers that index")),
  clusterVersionMax: opt(nullable(nat(), "the highest cluster version its build implements; null when unreachable")),
  diskFull: opt(bool("its free disk space is below its diskFreeMinBytes floor (absent when unreachable or not reported)")),
  diskFreeBytes: opt(nat("free bytes under its data directory, when reported")),
});

/** Whether the replicas' state digests agree, compared at one applied index. */
export const ReplicaAgreement = shape("ReplicaAgreement", {
  index: nat("the applied index the digests were compared at: the lowest applied index among the reachable members"),
  agree: nullable(bool(), "true: every compared member has the same digest there; false: they differ; null: could not compare"),
  compared: arr(nonEmptyStr(), "the members compared"),
  summary: str("the verdict in words"),
});

/** `cluster.status` response. */
export const ClusterStatusResponse = shape("ClusterStatusResponse", {
  nodeId: nonEmptyStr("the answering node"),
  leaderId: nullable(nonEmptyStr(), "null during an election"),
  term: nat("current term"),
  commitIndex: nat("commit index"),
  nodes: arr(ClusterNodeStatus, "every member"),
  agreement: opt(ReplicaAgreement),
  clusterVersion: opt(nat("the cluster version in force (0: a fresh cluster whose first leader has not set it yet)")),
});

/** `cluster.finalize-upgrade`: raise the cluster version once every member's build implements it. */
export const FinalizeUpgradeRequest = shape("FinalizeUpgradeRequest", {
  version: opt(pos("target cluster version; default: the highest the leader's build implements")),
});

/** `cluster.finalize-upgrade` response. */
export const FinalizeUpgradeResponse = shape("FinalizeUpgradeResponse", {
  previous: nat("the cluster version before"),
  version: nat("the cluster version now in force"),
  enabled: arr(str(), "what the versions in between enabled, one line each"),
  members: arr(shape("MemberVersion", {
    id: nonEmptyStr("node id"),
    clusterVersionMax: nat("the highest cluster version its build implements"),
  }), "every member's build, as the leader found it"),
});

/** A member of the Raft configuration. */
export const ClusterMember = shape("ClusterMember", {
  id: nonEmptyStr("node id"),
  peerAddress: str("host:port of its peer endpoint"),
  clientAddress: str("its client WebSocket address"),
  voter: bool("votes (false: learner)"),
});

/** `cluster.add-node`: a membership change through the Raft log. */
export const AddNodeRequest = shape("AddNodeRequest", {
  id: nonEmptyStr("new node's id"),
  peerAddress: nonEmptyStr("host:port of its peer endpoint"),
  clientAddress: nonEmptyStr("host:port of its client endpoint"),
  voter: opt(bool("default true; false adds a learner")),
});

/** `cluster.remove-node`. */
export const RemoveNodeRequest = shape("RemoveNodeRequest", { id: nonEmptyStr("node id") });

/** Response of membership changes: the configuration once committed. */
export const MembershipResponse = shape("MembershipResponse", {
  index: nat("Raft index of the committed change"),
  members: arr(ClusterMember, "the configuration"),
});

/** `cluster.transfer-leader`: to the given node, or to the most caught-up voter. */
export const TransferLeaderRequest = shape("TransferLeaderRequest", { to: opt(nonEmptyStr("target node id")) });

/** `cluster.transfer-leader` response, once the transfer completed. */
export const TransferLeaderResponse = shape("TransferLeaderResponse", {
  from: nonEmptyStr("the old leader"),
  to: nonEmptyStr("the new leader"),
});

/** The request kinds of this group. */
export const clusterKinds = {
  "cluster.status": { request: Empty, response: ClusterStatusResponse, servedBy: "any" },
  "cluster.add-node": { request: AddNodeRequest, response: MembershipResponse, servedBy: "leader" },
  "cluster.remove-node": { request: RemoveNodeRequest, response: MembershipResponse, servedBy: "leader" },
  "cluster.transfer-leader": { request: TransferLeaderRequest, response: TransferLeaderResponse, servedBy: "leader" },
  "cluster.finalize-upgrade": { request: FinalizeUpgradeRequest, response: FinalizeUpgradeResponse, servedBy: "leader" },
} as const;

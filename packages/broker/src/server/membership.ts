/**
 * What a node tells clients about the cluster's membership: whether it is a
 * member at all (a removed node sends clients elsewhere with NOT_MEMBER),
 * and the members' client addresses, which the SDK adds to its server list
 * (as NATS clients learn `connect_urls`).
 */
import { RaftbusError } from "@raftbus/client/protocol";
import type { ConfState, RaftStatus } from "@raftbus/raft";
import type { PeerSpec } from "./config.ts";
import { clientAddress } from "./config.ts";

/** The Raft facts this module reads (RaftNode.status()). */
export type MembershipView = Pick<RaftStatus, "id" | "member" | "removal"> & { readonly appliedConf: ConfState };

/**
 * The configuration clients should believe: the applied (committed) one, or
 * for a removed node the committed one its leader reported.
 */
export function effectiveConf(v: MembershipView): ConfState {
  return v.removal?.conf ?? v.appliedConf;
}

/** Client addresses of the members in `conf` whose address is known, in id order (wss:// when `tls`). */
export function memberAddresses(conf: ConfState, specs: ReadonlyMap<string, PeerSpec>, tls = false): string[] {
  const out: string[] = [];
  for (const id of [...conf.voters, ...conf.learners].sort()) {
    const spec = specs.get(id);
    if (spec !== undefined) out.push(clientAddress(spec, tls));
  }
  return out;
}

/** Why this node refuses clients, or undefined when it is a member. */
export function notMemberReason(v: MembershipView): string | undefined {
  if (v.member) return undefined;
  const r = v.removal;
  if (r === null) return `node ${v.id} is not in the cluster's configuration`;
  const members = [...r.conf.voters, ...r.conf.learners].join(", ");
  return `node ${v.id} is not a member of the cluster: the configuration committed as of index ${r.confIndex} (reported by leader ${r.by} in term ${r.term}) is ${members}`;
}

/** The NOT_MEMBER error for a non-member, pointing at the leader when its address is known. */
export function notMemberError(v: MembershipView, leaderAddress: string | undefined): RaftbusError | undefined {
  const reason = notMemberReason(v);
  if (reason === undefined) return undefined;
  return new RaftbusError("NOT_MEMBER", `${reason}; use another server`, leaderAddress !== undefined ? { leaderHint: leaderAddress } : {});
}

/**
 * The replicated address book (cluster version ≥ 2): where each member
 * listens, kept in the broker's state so it survives restarts, travels in
 * snapshots and backups, and is the same on every replica. Membership
 * entries keep it current: an add carries the new member's address in its
 * context (written by the leader's add-node), a removal forgets it. An id
 * already in the book keeps its committed address (a promotion from learner
 * to voter, or a repeated add, cannot move it); only after a removal may a
 * later add give the id a new one.
 */
import type { RecordMembersCommand } from "../commands/types.ts";
import type { ConfChange } from "../raft-api.ts";
import type { MemberRecord } from "../store/records.ts";
import type { Txn } from "../store/txn.ts";
import { effectiveVersion } from "../version/cluster-version.ts";
import type { ApplyContext } from "./context.ts";
import type { CommandResult } from "./results.ts";
import type { BrokerState } from "./state.ts";

/** The cluster version from which the address book is kept. */
export const MEMBER_BOOK_VERSION = 2;

/** apply() of recordMembers: adds the members the book does not hold yet. */
export function applyRecordMembers(ctx: ApplyContext, c: RecordMembersCommand): CommandResult {
  const recorded: string[] = [];
  for (const m of c.members) {
    if (ctx.state.members.has(m.id)) continue;
    ctx.state.putMember(ctx.txn, { id: m.id, host: m.host, peerPort: m.peerPort, clientPort: m.clientPort });
    recorded.push(m.id);
  }
  return { ok: true, type: "recordMembers", recorded };
}

/**
 * apply() of a committed membership change (decoded by `decode`, only when
 * needed): keeps the book in step. Does nothing while the cluster runs a
 * version without the book. Returns true when the book changed.
 */
export function applyConfChangeToBook(state: BrokerState, txn: Txn, decode: () => ConfChange): boolean {
  if (effectiveVersion(state.meta.clusterVersion) < MEMBER_BOOK_VERSION) return false;
  const change = decode();
  if (change.kind === "removeNode") {
    const had = state.members.has(change.node);
    state.removeMember(txn, change.node);
    return had;
  }
  if (state.members.has(change.node) || change.context === undefined) return false;
  const address = parseContext(change.context, change.node);
  if (address === undefined) return false;
  state.putMember(txn, address);
  return true;
}

/** The address in a membership change's context (JSON of id, host, peerPort, clientPort), when well-formed and about `node`. */
export function parseContext(context: string, node: string): MemberRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(context);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const { id, host, peerPort, clientPort } = v as Record<string, unknown>;
  const port = (p: unknown): p is number => Number.isSafeInteger(p) && (p as number) >= 1 && (p as number) <= 65_535;
  if (id !== node || typeof host !== "string" || host.length === 0 || host.length > 253 || !port(peerPort) || !port(clientPort)) return undefined;
  return { id: node, host, peerPort, clientPort };
}

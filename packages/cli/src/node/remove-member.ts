/**
 * Removing a member through a Raft membership change, as `cluster
 * remove-node` and `cluster replace-node` do. Removing the LEADER itself is
 * the awkward case: it commits its own removal and then turns the
 * connection away (NOT_MEMBER) before its answer arrives, so the client
 * sees CONNECTION_CLOSED. The outcome is then read from the members that
 * remain: once a leader among them no longer lists the node, it is removed.
 */
import type { MembershipResponse, RaftbusClient } from "@raftbus/client";
import { RaftbusError } from "@raftbus/client/vocabulary";
import { sleep } from "../util/sleep.ts";

/** Pause between status polls while confirming a removal. */
const CONFIRM_POLL_MS = 100;

/** Removes `id`; resolves with the membership without it. @throws RaftbusError as the SDK does, when the outcome cannot be confirmed either. */
export async function removeMember(client: RaftbusClient, id: string, timeoutMs: number): Promise<MembershipResponse> {
  const deadline = Date.now() + timeoutMs;
  try {
    return await client.cluster.removeNode(id, { timeoutMs });
  } catch (err) {
    if (!(err instanceof RaftbusError && err.code === "CONNECTION_CLOSED")) throw err;
    const confirmed = await confirmRemoval(client, id, deadline);
    if (confirmed === undefined) throw err;
    return confirmed;
  }
}

/** The membership once `id` is no longer in it, as another member reports it (undefined: not seen before the deadline). */
async function confirmRemoval(client: RaftbusClient, id: string, deadline: number): Promise<MembershipResponse | undefined> {
  // Bounded by the deadline; each turn is one status request.
  while (Date.now() < deadline) {
    try {
      const st = await client.cluster.status({ timeoutMs: Math.max(1, deadline - Date.now()) });
      if (st.leaderId !== null && !st.nodes.some((n) => n.id === id)) {
        return { index: st.commitIndex, members: st.nodes.map((n) => ({ id: n.id, peerAddress: n.peerAddress, clientAddress: n.clientAddress, voter: n.voter })) };
      }
    } catch (err) {
      if (!(err instanceof RaftbusError)) throw err;
    }
    await sleep(Math.min(CONFIRM_POLL_MS, Math.max(0, deadline - Date.now())));
  }
  return undefined;
}

/**
 * `raftbus node start --join <address>`: a node that starts with an empty
 * data directory asks the cluster to add it as a LEARNER (it receives the
 * log, or a snapshot when far behind, but does not vote, so a slow catch-up
 * never costs the cluster its majority), and asks to be promoted to VOTER
 * once the leader sees it caught up. Restarted with --join before the
 * promotion, it picks up where it stopped; as a voter, --join does nothing.
 *
 * The node itself drives both steps through the client protocol
 * (`cluster.add-node`), so any member's client address will do: the SDK
 * follows the leader.
 */
import { connect } from "@raftbus/client/node";
import type { RaftbusClient } from "@raftbus/client/node";
import type { PeerSpec } from "@raftbus/broker";
import { sleep } from "../util/sleep.ts";
import { caughtUp } from "./caught-up.ts";

/** Pause between the join's status checks and between retries after a failure. */
export const JOIN_POLL_MS = 500;

/** What the join needs from the node it runs in. */
export interface JoinPorts {
  /** This node's id and the addresses the cluster reaches it at. */
  readonly self: PeerSpec;
  /** Client address(es) of any running member, e.g. ws://10.0.0.1:7001. */
  readonly join: string;
  /** This node's own view: is it a voter, a learner, or neither yet. */
  readonly localRole: () => "voter" | "learner" | "none";
  /** Members the cluster reported (so the peer transport admits the leader at once). */
  readonly learnMembers: (members: readonly PeerSpec[]) => void;
  readonly log: (level: "info" | "warn", msg: string, fields?: Record<string, unknown>) => void;
  /** Aborted when the node stops. */
  readonly signal: AbortSignal;
  /** This node's client credential (nodeToken), which may add this node and nothing else. */
  readonly token: string;
  readonly timeoutMs?: number;
  /** The cluster CA when it runs TLS (the join address is then wss://). */
  readonly tlsCa?: Buffer;
}

/** How a join ended. */
export type JoinOutcome = "voter" | "stopped";

/**
 * Runs until this node is a voter (or the node stops). Never throws for
 * cluster errors: it logs them and retries, since the cluster may be in an
 * election or another membership change may be in progress.
 */
export async function joinCluster(p: JoinPorts): Promise<JoinOutcome> {
  if (p.localRole() === "voter") return "voter";
  let client: RaftbusClient | undefined;
  try {
    while (!p.signal.aborted) {
      try {
        client ??= await connect({ servers: p.join, timeoutMs: p.timeoutMs ?? 10_000, name: `join-${p.self.id}`, token: p.token, ...(p.tlsCa !== undefined ? { tls: { ca: p.tlsCa } } : {}) });
        const status = await client.cluster.status({ timeoutMs: p.timeoutMs ?? 10_000 });
        const row = status.nodes.find((n) => n.id === p.self.id);
        if (row === undefined) {
          const res = await client.cluster.addNode({ id: p.self.id, peerAddress: peerAddress(p.self), clientAddress: clientAddress(p.self), voter: false });
          p.learnMembers(res.members.flatMap((m) => specOf(m)));
          p.log("info", "added to the cluster as a learner; catching up", { index: res.index });
        } else if (row.voter) {
          p.log("info", "a voter already (promoted by an operator or an earlier run): the join is complete");
          return "voter";
        } else if (caughtUp(status, p.self.id)) {
          const res = await client.cluster.addNode({ id: p.self.id, peerAddress: peerAddress(p.self), clientAddress: clientAddress(p.self), voter: true });
          p.log("info", "caught up and promoted to voter: the join is complete", { index: res.index });
          return "voter";
        } else {
          p.log("info", "learner catching up", { matchIndex: row.matchIndex, commitIndex: status.commitIndex });
        }
      } catch (err) {
        p.log("warn", "join: the cluster did not answer or refused; retrying", { err: err instanceof Error ? err.message : String(err) });
      }
      await sleep(JOIN_POLL_MS, p.signal).catch(() => undefined);
    }
    return "stopped";
  } finally {
    await client?.close().catch(() => undefined);
  }
}

const peerAddress = (s: PeerSpec): string => `${s.host}:${s.peerPort}`;
const clientAddress = (s: PeerSpec): string => `${s.host}:${s.clientPort}`;

function specOf(m: { id: string; peerAddress: string; clientAddress: string }): PeerSpec[] {
  const peer = /^([^:/\s]+):(\d{1,5})$/.exec(m.peerAddress);
  const client = /^(?:wss?:\/\/)?[^:/\s]+:(\d{1,5})\/?$/.exec(m.clientAddress);
  if (peer === null || client === null) return [];
  return [{ id: m.id, host: peer[1] as string, peerPort: Number(peer[2]), clientPort: Number(client[1]) }];
}

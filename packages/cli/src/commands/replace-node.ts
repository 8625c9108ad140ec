/**
 * `raftbus cluster replace-node OLD --with NEW`: swap a (typically dead)
 * member for a new node that has joined as a learner (`node start --join`).
 *
 * The new node must be caught up before it gets a vote, and it gets its vote
 * BEFORE the old one loses its own: the cluster never drops to fewer voters
 * than it had, and a failure half-way leaves an extra voter rather than a
 * missing one (`cluster remove-node OLD` finishes the job).
 */
import type { ClusterStatusResponse, RaftbusClient } from "@raftbus/client";
import type { ClusterNodeStatus } from "@raftbus/client/protocol";
import { RaftbusError } from "@raftbus/client/vocabulary";
import { caughtUp } from "../node/caught-up.ts";
import { removeMember } from "../node/remove-member.ts";
import { checkDuration, optString, reqString, type Args } from "../util/args.ts";
import { UsageError } from "../util/errors.ts";
import { sleep } from "../util/sleep.ts";
import type { CommandContext } from "./context.ts";

/** Pause between status polls while the new node catches up. */
const REPLACE_POLL_MS = 500;
/** How long the new node may take to catch up, unless --wait says otherwise. */
const REPLACE_WAIT_DEFAULT = "5m";

/** What happened, for --json and the summary line. */
export interface ReplaceOutcome {
  readonly old: string;
  readonly new: string;
  readonly promoted: boolean;
  readonly removedAt: number;
  readonly voters: readonly string[];
}

/** Runs the replacement (see the module comment). */
export async function replaceNode(args: Args, ctx: CommandContext): Promise<void> {
  const command = "cluster replace-node";
  const old = reqString(args, "old", command);
  const neu = reqString(args, "with", command, false);
  if (old === neu) throw new UsageError("OLD and --with name the same node", command);
  const waitMs = checkDuration(optString(args, "wait") ?? REPLACE_WAIT_DEFAULT, "wait", command, 1);
  const client = await ctx.client();
  const deadline = Date.now() + waitMs;
  let promoted = false;
  // Bounded by --wait; each turn is one status request.
  for (;;) {
    const st = await client.cluster.status({ timeoutMs: ctx.timeoutMs });
    const oldRow = st.nodes.find((n) => n.id === old);
    const newRow = st.nodes.find((n) => n.id === neu);
    if (newRow === undefined) {
      // It may be starting: a joining node adds itself within moments.
      if (Date.now() >= deadline) {
        throw new RaftbusError("INVALID_ARGUMENT", `${neu} is not a member: start it first with \`raftbus node start --id ${neu} --join <any member's client address> …\``);
      }
      if (!ctx.json) ctx.err.line(`waiting for ${neu} to join`);
      await sleep(Math.min(REPLACE_POLL_MS, Math.max(0, deadline - Date.now())));
      continue;
    }
    if (oldRow === undefined) throw new RaftbusError("INVALID_ARGUMENT", `${old} is not a member (members: ${st.nodes.map((n) => n.id).join(", ")})`);
    if (!newRow.voter && caughtUp(st, neu)) {
      try {
        await promote(client, newRow, ctx.timeoutMs);
        promoted = true;
      } catch (err) {
        // A node started with --join promotes itself once caught up: it may have won the race.
        if (!(err instanceof RaftbusError && err.code === "MEMBER_EXISTS")) throw err;
      }
      continue;
    }
    if (newRow.voter && newRow.healthy) {
      // OLD may be the live leader: its own removal closes our connection before the answer (node/remove-member.ts).
      const res = await removeMember(client, old, ctx.timeoutMs);
      const outcome: ReplaceOutcome = { old, new: neu, promoted, removedAt: res.index, voters: res.members.filter((m) => m.voter).map((m) => m.id) };
      if (ctx.json) return ctx.out.json(outcome);
      ctx.out.line(`replaced ${old} with ${ctx.out.style("bold", neu)}${promoted ? ` (${neu} promoted to voter first)` : ""}; voters now ${outcome.voters.join(", ")} (committed at index ${res.index})`);
      return;
    }
    if (Date.now() >= deadline) throw notReady(st, newRow, waitMs);
    if (!ctx.json) ctx.err.line(`waiting for ${neu} to catch up (${progress(st, newRow)})`);
    await sleep(Math.min(REPLACE_POLL_MS, Math.max(0, deadline - Date.now())));
  }
}

async function promote(client: RaftbusClient, row: ClusterNodeStatus, timeoutMs: number): Promise<void> {
  await client.cluster.addNode({ id: row.id, peerAddress: row.peerAddress, clientAddress: row.clientAddress.replace(/^wss?:\/\//, "").replace(/\/$/, ""), voter: true }, { timeoutMs });
}

function progress(st: ClusterStatusResponse, row: ClusterNodeStatus): string {
  return `${row.voter ? "voter" : "learner"}, ${row.healthy ? "reachable" : "not reachable"}, replicated to ${row.matchIndex ?? "?"} of ${st.commitIndex}`;
}

function notReady(st: ClusterStatusResponse, row: ClusterNodeStatus, waitMs: number): RaftbusError {
  return new RaftbusError("TIMEOUT", `${row.id} did not become a caught-up, reachable voter within ${Math.round(waitMs / 1000)} s (${progress(st, row)}); nothing was removed`);
}

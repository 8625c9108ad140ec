/**
 * `raftbus cluster status|add-node|remove-node|replace-node|transfer-leader` (`cluster up`
 * lives in cluster-up.ts). Status is the leader's view: every member's role,
 * term and indexes, how far it trails the leader's log, and whether it
 * answers; `--watch` redraws it until Ctrl-C.
 */
import type { ClusterStatusResponse, MembershipResponse, RaftbusClient, TransferLeaderResponse } from "@raftbus/client";
import { RaftbusError } from "@raftbus/client/vocabulary";
import type { ClusterMember, ClusterNodeStatus } from "@raftbus/client/protocol";
import type { Argv } from "yargs";
import { renderTable, type Column } from "../output/table.ts";
import type { Styler } from "../output/style.ts";
import { checkDuration, optInt, optString, reqString, type Args } from "../util/args.ts";
import { UsageError } from "../util/errors.ts";
import { sleep } from "../util/sleep.ts";
import { formatDuration } from "../util/units.ts";
import type { Act, CommandContext } from "./context.ts";
import { replaceNode } from "./replace-node.ts";
import { removeMember } from "../node/remove-member.ts";

/** A follower further behind the leader's log than this shows as lagging. */
export const LAG_WARN_ENTRIES = 100;
/** `--watch` without an interval refreshes this often. */
const WATCH_INTERVAL_DEFAULT = "2s";
/** Shortest `--watch` interval: each refresh asks every node for its status. */
const WATCH_INTERVAL_MIN_MS = 200;
/** Clear the screen and move home (a terminal only). */
const CLEAR_SCREEN = "\u001b[H\u001b[2J";

/** Entries `node` trails the leader's log by, when the answering node knows both indexes. */
export function lagOf(node: ClusterNodeStatus, status: ClusterStatusResponse): number | undefined {
  const leader = status.nodes.find((n) => n.id === status.leaderId);
  if (leader === undefined || leader.matchIndex === null || node.matchIndex === null) return undefined;
  return Math.max(0, leader.matchIndex - node.matchIndex);
}

/** `ok`, `lagging`, `disk full` (below its diskFreeMinBytes) or `down`. */
export function healthOf(node: ClusterNodeStatus, status: ClusterStatusResponse): "ok" | "lagging" | "disk full" | "down" {
  if (!node.healthy) return "down";
  if (node.diskFull === true) return "disk full";
  const lag = lagOf(node, status);
  return lag !== undefined && lag > LAG_WARN_ENTRIES ? "lagging" : "ok";
}

const num = (v: number | null): string => (v === null ? "-" : String(v));

/** The columns of `cluster status`. */
export function statusColumns(status: ClusterStatusResponse): Column<ClusterNodeStatus>[] {
  return [
    { header: "NODE", value: (n) => (n.id === status.leaderId ? `${n.id}*` : n.id), style: (n) => (n.id === status.leaderId ? "bold" : undefined) },
    { header: "ROLE", value: (n) => (n.voter || n.role === "learner" || n.role === "unknown" ? n.role : `${n.role} (non-voter)`), style: (n) => (n.role === "leader" ? "green" : n.role === "unknown" || n.role === "candidate" ? "yellow" : undefined) },
    { header: "TERM", value: (n) => num(n.term), align: "right" },
    { header: "COMMIT", value: (n) => num(n.commitIndex), align: "right" },
    { header: "APPLIED", value: (n) => num(n.appliedIndex), align: "right" },
    { header: "DIGEST", value: (n) => (n.stateDigest === undefined ? "-" : n.stateDigest.slice(0, 12)), style: () => "dim" },
    { header: "MATCH", value: (n) => num(n.matchIndex), align: "right" },
    { header: "LAG", value: (n) => num(lagOf(n, status) ?? null), align: "right", style: (n) => ((lagOf(n, status) ?? 0) > LAG_WARN_ENTRIES ? "yellow" : undefined) },
    { header: "LAST CONTACT", value: (n) => (n.id === status.nodeId ? "-" : n.lastContactMs === null ? "?" : formatDuration(n.lastContactMs)) },
    { header: "HEALTH", value: (n) => healthOf(n, status), style: (n) => ({ ok: "green", lagging: "yellow", "disk full": "red", down: "red" } as const)[healthOf(n, status)] },
    { header: "ADDRESS", value: (n) => n.clientAddress },
  ];
}

/** `cluster status` for people: a summary line and the table. */
export function statusLines(status: ClusterStatusResponse, style: Styler): string[] {
  const down = status.nodes.filter((n) => !n.healthy).length;
  const summary = status.leaderId === null
    ? style("red", "no leader (an election is running, or too few nodes are up)")
    : `leader ${style("bold", status.leaderId)} · term ${status.term} · commit ${status.commitIndex}`;
  const health = down === 0 ? style("green", `${status.nodes.length}/${status.nodes.length} nodes up`) : style("red", `${status.nodes.length - down}/${status.nodes.length} nodes up`);
  return [`${summary} · ${health} ${style("dim", `(as seen by ${status.nodeId})`)}`, ...versionLines(status, style), "", ...renderTable(statusColumns(status), status.nodes, { style }), "", agreementLine(status, style)];
}

/** Whether the replicas agree, in one line (DIGEST is each node's digest at its own APPLIED index). */
export function agreementLine(status: ClusterStatusResponse, style: Styler): string {
  const a = status.agreement;
  if (a === undefined) return style("yellow", "replica agreement: unknown (no member answered)");
  return style(a.agree === true ? "green" : a.agree === false ? "red" : "yellow", a.summary);
}

/** The cluster version line, with a hint when every member could run a newer one (an upgrade to finalize). */
export function versionLines(status: ClusterStatusResponse, style: Styler): string[] {
  if (status.clusterVersion === undefined) return [];
  const maxes = status.nodes.map((n) => n.clusterVersionMax);
  const known = maxes.every((m): m is number => m !== null && m !== undefined);
  const common = known && maxes.length > 0 ? Math.min(...maxes) : undefined;
  const line = `cluster version ${status.clusterVersion === 0 ? "not set yet (fresh cluster)" : status.clusterVersion}`;
  if (common !== undefined && common > status.clusterVersion && status.clusterVersion > 0) {
    return [`${line} · ${style("yellow", `every node implements ${common}: finish the upgrade with \`raftbus cluster finalize-upgrade\``)}`];
  }
  const mixed = known && new Set(maxes).size > 1 ? style("yellow", ` · nodes implement ${[...new Set(maxes)].sort().join(" and ")} (upgrade in progress)`) : "";
  return [`${line}${mixed}`];
}

/** The watch interval of `--watch [interval]`, or undefined when not watching. @throws UsageError */
export function watchPlan(args: Args): { intervalMs: number; count: number | undefined } | undefined {
  const raw = args["watch"];
  const count = optInt(args, "watch-count", "cluster status", { min: 1 });
  if ((raw === undefined || raw === false) && count === undefined) return undefined;
  const text = typeof raw === "string" && raw !== "" ? raw : WATCH_INTERVAL_DEFAULT;
  return { intervalMs: checkDuration(text, "watch", "cluster status", WATCH_INTERVAL_MIN_MS), count };
}

async function status(args: Args, ctx: CommandContext): Promise<void> {
  const watch = watchPlan(args);
  const client = await ctx.client();
  if (watch === undefined) {
    const st = await client.cluster.status({ timeoutMs: ctx.timeoutMs });
    if (ctx.json) return ctx.out.json(st);
    ctx.out.line(...statusLines(st, ctx.out.style));
    return;
  }
  const stop = ctx.io.interrupted();
  // Bounded by --watch-count, or by Ctrl-C.
  for (let i = 1; !stop.aborted && (watch.count === undefined || i <= watch.count); i++) {
    const at = new Date();
    let lines: string[];
    try {
      const st = await client.cluster.status({ timeoutMs: Math.min(ctx.timeoutMs, Math.max(watch.intervalMs, 1000)) });
      if (ctx.json) {
        ctx.out.jsonLine({ time: at.toISOString(), ...st });
        lines = [];
      } else {
        lines = statusLines(st, ctx.out.style);
      }
    } catch (err) {
      // While watching, a failed refresh is news, not the end (the leader may be changing right now).
      if (!(err instanceof RaftbusError)) throw err;
      if (ctx.json) ctx.out.jsonLine({ time: at.toISOString(), error: err.toInfo() });
      lines = [ctx.out.style("red", `no status: ${err.code}: ${err.message}`)];
    }
    if (!ctx.json) {
      const header = ctx.out.style("dim", `every ${formatDuration(watch.intervalMs)} · ${at.toLocaleTimeString()} · Ctrl-C to stop`);
      if (ctx.out.isTTY) ctx.out.raw(CLEAR_SCREEN);
      else if (i > 1) ctx.out.line("");
      ctx.out.line(header, ...lines);
    }
    if (watch.count === undefined || i < watch.count) await sleep(watch.intervalMs, stop);
  }
}

const HOST_PORT_RE = /^(?:wss?:\/\/)?([^:/\s]+):(\d{1,5})\/?$/;

/** Check `host:port` (or `ws://host:port`) and return it without the scheme. @throws UsageError */
export function checkHostPort(text: string, key: string, command: string): string {
  const m = HOST_PORT_RE.exec(text.trim());
  const port = Number(m?.[2]);
  if (m === null || port < 1 || port > 65535) throw new UsageError(`--${key} must be host:port, e.g. 10.0.0.4:7104, got ${JSON.stringify(text)}`, command);
  return `${m[1]}:${port}`;
}

/** What `cluster add-node` sends. @throws UsageError */
export function addNodePlan(args: Args): { id: string; peerAddress: string; clientAddress: string; voter: boolean } {
  const command = "cluster add-node";
  const id = reqString(args, "id", command);
  const peer = reqString(args, "peer", command, false);
  const clientAddr = reqString(args, "client", command, false);
  return { id, peerAddress: checkHostPort(peer, "peer", command), clientAddress: `ws://${checkHostPort(clientAddr, "client", command)}`, voter: args["learner"] !== true };
}

function membersLines(res: MembershipResponse, style: Styler): string[] {
  return renderTable<ClusterMember>([
    { header: "NODE", value: (m) => m.id },
    { header: "VOTER", value: (m) => (m.voter ? "yes" : "no (learner)") },
    { header: "PEER", value: (m) => m.peerAddress },
    { header: "CLIENT", value: (m) => m.clientAddress },
  ], res.members, { style });
}

async function addNode(args: Args, ctx: CommandContext): Promise<void> {
  const plan = addNodePlan(args);
  const client = await ctx.client();
  const res = await client.cluster.addNode(plan, { timeoutMs: ctx.timeoutMs });
  if (ctx.json) return ctx.out.json(res);
  ctx.out.line(`added ${plan.id} as a ${plan.voter ? "voter" : "learner"} (configuration committed at index ${res.index})`, "", ...membersLines(res, ctx.out.style));
  if (!plan.voter) ctx.out.line("", `promote it once it caught up: \`raftbus cluster add-node ${plan.id} --peer ${plan.peerAddress} --client ${plan.clientAddress}\``);
}

async function removeNode(args: Args, ctx: CommandContext): Promise<void> {
  const id = reqString(args, "id", "cluster remove-node");
  const client = await ctx.client();
  const res = await removeMember(client, id, ctx.timeoutMs);
  if (ctx.json) return ctx.out.json(res);
  ctx.out.line(`removed ${id} (configuration committed at index ${res.index})`, "", ...membersLines(res, ctx.out.style));
}

/** Pause between status polls while confirming a leader transfer. */
const TRANSFER_POLL_MS = 100;

/**
 * The transfer's outcome when its answer was lost: the SDK follows the new
 * leader as soon as the old one announces it, which can close the connection
 * before the `transfer-leader` response arrives (CONNECTION_CLOSED although
 * the transfer succeeded). Ask the cluster who leads now.
 */
async function confirmTransfer(client: RaftbusClient, from: string, to: string | undefined, deadline: number): Promise<TransferLeaderResponse | undefined> {
  // Bounded by the deadline; each turn is one status request.
  while (Date.now() < deadline) {
    try {
      const st = await client.cluster.status({ timeoutMs: Math.max(1, deadline - Date.now()) });
      if (st.leaderId !== null && st.leaderId !== from && (to === undefined || st.leaderId === to)) return { from, to: st.leaderId };
    } catch (err) {
      if (!(err instanceof RaftbusError)) throw err;
    }
    await sleep(Math.min(TRANSFER_POLL_MS, deadline - Date.now()));
  }
  return undefined;
}

async function transferLeader(args: Args, ctx: CommandContext): Promise<void> {
  const to = optString(args, "to");
  const client = await ctx.client();
  const deadline = Date.now() + ctx.timeoutMs;
  const before = client.info?.leaderId ?? undefined;
  let res: TransferLeaderResponse | undefined;
  try {
    res = await client.cluster.transferLeader(to, { timeoutMs: ctx.timeoutMs });
  } catch (err) {
    if (!(err instanceof RaftbusError && err.code === "CONNECTION_CLOSED" && before !== undefined)) throw err;
    res = await confirmTransfer(client, before, to, deadline);
    if (res === undefined) throw err;
  }
  if (ctx.json) return ctx.out.json(res);
  ctx.out.line(res.from === res.to ? `${res.to} is the leader already` : `leadership moved from ${res.from} to ${ctx.out.style("bold", res.to)}`);
}

async function finalizeUpgrade(args: Args, ctx: CommandContext): Promise<void> {
  const version = optInt(args, "to", "cluster finalize-upgrade", { min: 1 });
  const client = await ctx.client();
  const res = await client.cluster.finalizeUpgrade(version, { timeoutMs: ctx.timeoutMs });
  if (ctx.json) return ctx.out.json(res);
  if (res.version === res.previous) {
    ctx.out.line(`the cluster runs version ${res.version} already; every member implements ${Math.min(...res.members.map((m) => m.clusterVersionMax))}`);
    return;
  }
  ctx.out.line(`cluster version ${res.previous} → ${ctx.out.style("bold", String(res.version))}; enabled:`, ...res.enabled.map((e) => `  ${e}`));
}

/** Register the client commands of `cluster …` under `y` (next to `cluster up`). */
export function clusterCommands(y: Argv, act: Act): Argv {
  return y
    .command("status", "members, roles, terms, indexes, lag and health", (yy: Argv) => yy
      .option("watch", { alias: "w", type: "string", describe: "refresh every interval until Ctrl-C (default 2s), e.g. --watch 1s" })
      .option("watch-count", { type: "number", describe: "with --watch: stop after this many refreshes" })
      .example("$0 cluster status --watch", "")
      .example("$0 cluster status --json | jq '.nodes[] | {id, role}'", ""), act("cluster status", status))
    .command("add-node <id>", "add a node through a Raft membership change", (yy: Argv) => yy
      .positional("id", { type: "string", describe: "the new node's id, e.g. n4" })
      .option("peer", { type: "string", demandOption: true, describe: "its Raft peer address, host:port" })
      .option("client", { type: "string", demandOption: true, describe: "its client address, host:port" })
      .option("learner", { type: "boolean", default: false, describe: "add as a non-voting learner (promote later by adding it again)" })
      .example("$0 cluster add-node n4 --peer 10.0.0.4:7104 --client 10.0.0.4:7004 --learner", ""), act("cluster add-node", addNode))
    .command("remove-node <id>", "remove a node through a Raft membership change", (yy: Argv) => yy
      .positional("id", { type: "string" }), act("cluster remove-node", removeNode))
    .command("replace-node <old>", "swap a (dead) member for a node that joined with `node start --join`: promote it once caught up, then remove the old one", (yy: Argv) => yy
      .positional("old", { type: "string", describe: "the member to replace" })
      .option("with", { type: "string", demandOption: true, describe: "the new node's id" })
      .option("wait", { type: "string", describe: "how long the new node may take to catch up (default 5m)" })
      .example("$0 cluster replace-node n3 --with n5", ""), act("cluster replace-node", replaceNode))
    .command("transfer-leader [to]", "hand leadership to a node (default: the most caught-up voter)", (yy: Argv) => yy
      .positional("to", { type: "string", describe: "node id" }), act("cluster transfer-leader", transferLeader))
    .command("finalize-upgrade", "after a rolling upgrade: raise the cluster version so the new release's formats are used", (yy: Argv) => yy
      .option("to", { type: "number", describe: "target cluster version (default: the highest the leader's release implements)" }), act("cluster finalize-upgrade", finalizeUpgrade));
}

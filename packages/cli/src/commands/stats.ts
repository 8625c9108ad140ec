/** `raftbus stats`: cluster totals (topics, messages, rates, deliveries) and node health. */
import type { StatsResponse } from "@raftbus/client";
import type { NodeHealth } from "@raftbus/client/protocol";
import type { Argv } from "yargs";
import type { Styler } from "../output/style.ts";
import { renderKeyValues, renderTable } from "../output/table.ts";
import type { Args } from "../util/args.ts";
import { formatBytes, formatDuration } from "../util/units.ts";
import type { Act, CommandContext } from "./context.ts";
import { noteReadAt, readOptions, staleOption } from "./read.ts";

const rate = (perSec: number): string => `${perSec.toFixed(perSec < 10 ? 1 : 0)} msg/s`;

/** `stats` for people: totals, then one row per node. */
export function statsLines(s: StatsResponse, style: Styler): string[] {
  const lines = renderKeyValues([
    ["topics", String(s.topics)],
    ["subscriptions", String(s.subscriptions)],
    ["messages", `${s.messages} (${formatBytes(s.bytes)})`],
    ["published", `${s.published} (${rate(s.publishRatePerSec)})`],
    ["delivered", `${s.delivered} (${rate(s.deliverRatePerSec)})`],
    ["acked", String(s.acked)],
    ["failed", String(s.failed)],
    ["retried", String(s.retried)],
    ["dead letters", s.deadLettered > 0 ? style("yellow", String(s.deadLettered)) : "0"],
  ], style);
  return [...lines, "", ...renderTable<NodeHealth>([
    { header: "NODE", value: (n) => n.id },
    { header: "ROLE", value: (n) => n.role, style: (n) => (n.role === "leader" ? "green" : n.role === "unknown" ? "yellow" : undefined) },
    { header: "HEALTH", value: (n) => (n.healthy ? "ok" : "down"), style: (n) => (n.healthy ? "green" : "red") },
    { header: "APPLIED", value: (n) => (n.appliedIndex === null ? "-" : String(n.appliedIndex)), align: "right" },
    { header: "LAST CONTACT", value: (n) => (n.role === "leader" ? "-" : n.lastContactMs === null ? "?" : formatDuration(n.lastContactMs)) },
  ], s.nodes, { style })];
}

async function stats(args: Args, ctx: CommandContext): Promise<void> {
  const client = await ctx.client();
  const s = await client.stats({ timeoutMs: ctx.timeoutMs, ...readOptions(args) });
  if (ctx.json) return ctx.out.json(s);
  ctx.out.line(...statsLines(s, ctx.out.style));
  noteReadAt(ctx, args, s.readAt);
}

/** Register `stats` under `y`. */
export function statsCommand(y: Argv, act: Act): Argv {
  return y.command("stats", "cluster totals: topics, messages, rates, deliveries, node health", (yy: Argv) => staleOption(yy), act("stats", stats));
}

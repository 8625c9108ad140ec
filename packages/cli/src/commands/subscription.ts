/** `raftbus subscription list` (alias `subs`): every subscription with its lag and counters. */
import type { SubscriptionInfo } from "@raftbus/client";
import type { Argv } from "yargs";
import { ago } from "../output/format.ts";
import type { Styler } from "../output/style.ts";
import { renderTable } from "../output/table.ts";
import { optString, type Args } from "../util/args.ts";
import type { Act, CommandContext } from "./context.ts";
import { noteReadAt, readOptions, staleOption } from "./read.ts";

/** `subscription list` for people. */
export function subscriptionLines(subs: readonly SubscriptionInfo[], style: Styler, now: number): string[] {
  return renderTable<SubscriptionInfo>([
    { header: "SUBSCRIPTION", value: (s) => s.id },
    { header: "DURABLE", value: (s) => (s.durable ? "yes" : "no") },
    { header: "PATTERN", value: (s) => s.pattern, style: () => "cyan" },
    { header: "FILTER", value: (s) => s.filter ?? "" },
    { header: "GUARANTEE", value: (s) => s.guarantee },
    { header: "MEMBERS", value: (s) => String(s.members), align: "right" },
    { header: "IN FLIGHT", value: (s) => `${s.inFlight}/${s.maxInFlight}`, align: "right" },
    { header: "LAG", value: (s) => String(s.lag), align: "right", style: (s) => (s.lag > 0 ? "yellow" : undefined) },
    { header: "ACKED", value: (s) => String(s.acked), align: "right" },
    { header: "FAILED", value: (s) => String(s.failed), align: "right" },
    { header: "DLQ", value: (s) => String(s.deadLettered), align: "right" },
    { header: "CREATED", value: (s) => ago(s.createdAt, now) },
  ], subs, { style });
}

async function list(args: Args, ctx: CommandContext): Promise<void> {
  const topic = optString(args, "topic");
  const client = await ctx.client();
  const { subscriptions: subs, readAt } = await client.subscriptions.listWithReadAt({ timeoutMs: ctx.timeoutMs, ...readOptions(args), ...(topic !== undefined ? { topic } : {}) });
  if (ctx.json) return ctx.out.json(subs);
  noteReadAt(ctx, args, readAt);
  if (subs.length === 0) {
    ctx.out.line(topic !== undefined ? `no subscription matches ${topic}` : "no subscriptions");
    return;
  }
  ctx.out.line(...subscriptionLines(subs, ctx.out.style, Date.now()));
}

/** Register `subscription …` under `y`. */
export function subscriptionCommands(y: Argv, act: Act): Argv {
  return y
    .command(["list", "ls"], "list subscriptions with their lag and counters", (yy: Argv) => staleOption(yy)
      .option("topic", { type: "string", describe: "only subscriptions whose pattern matches this topic" }), act("subscription list", list))
    .demandCommand(1, "say which: raftbus subscription list");
}

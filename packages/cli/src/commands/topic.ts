/**
 * `raftbus topic create|list|info|delete` — like `rpk topic` and
 * `kafka-topics.sh`: retention as flags with units, a table of topics, one
 * topic's counts, offsets and subscriptions.
 */
import type { RetentionPolicy, TopicInfo, TopicSummary } from "@raftbus/client";
import type { Argv } from "yargs";
import { ago, isoTime } from "../output/format.ts";
import { renderKeyValues, renderTable, type Column } from "../output/table.ts";
import { optDuration, optInt, optSize, optString, reqString, type Args } from "../util/args.ts";
import { formatBytes, formatDuration, formatSize } from "../util/units.ts";
import { confirmDestructive, type Act, type CommandContext } from "./context.ts";
import { noteReadAt, readOptions, staleOption } from "./read.ts";

/** What `topic create` sends. */
export interface TopicCreatePlan {
  readonly topic: string;
  readonly retention?: RetentionPolicy;
}

/** Map `topic create` arguments to the request. @throws UsageError */
export function topicCreatePlan(args: Args): TopicCreatePlan {
  const command = "topic create";
  const topic = reqString(args, "name", command);
  const maxMessages = optInt(args, "max-messages", command, { min: 1 });
  const maxAgeMs = optDuration(args, "max-age", command, 1);
  const maxBytes = optSize(args, "max-bytes", command);
  const retention: RetentionPolicy = {
    ...(maxMessages !== undefined ? { maxMessages } : {}),
    ...(maxAgeMs !== undefined ? { maxAgeMs } : {}),
    ...(maxBytes !== undefined ? { maxBytes } : {}),
  };
  return Object.keys(retention).length > 0 ? { topic, retention } : { topic };
}

/** Retention for people: `max 10000 messages, 2h, 50 MiB`, or `unlimited`. */
export function describeRetention(r: RetentionPolicy): string {
  const parts = [
    r.maxMessages !== undefined ? `${r.maxMessages} messages` : undefined,
    r.maxAgeMs !== undefined ? formatDuration(r.maxAgeMs) : undefined,
    r.maxBytes !== undefined ? formatSize(r.maxBytes) : undefined,
  ].filter((p): p is string => p !== undefined);
  return parts.length === 0 ? "unlimited" : `max ${parts.join(", ")}`;
}

function offsets(t: TopicSummary): string {
  if (t.firstOffset === null || t.lastOffset === null) return t.lastOffset === null ? "none yet" : `none retained (last was ${t.lastOffset})`;
  return `${t.firstOffset}–${t.lastOffset}`;
}

async function create(args: Args, ctx: CommandContext): Promise<void> {
  const plan = topicCreatePlan(args);
  const client = await ctx.client();
  const topic = await client.topics.create(plan.topic, { timeoutMs: ctx.timeoutMs, ...(plan.retention !== undefined ? { retention: plan.retention } : {}) });
  if (ctx.json) return ctx.out.json(topic);
  ctx.out.line(`created topic ${ctx.out.style("cyan", topic.name)} (retention: ${describeRetention(topic.retention)})`);
}

/** The columns of `topic list`. */
export function topicColumns(now: number): Column<TopicSummary>[] {
  return [
    { header: "NAME", value: (t) => t.name, style: () => "cyan" },
    { header: "MESSAGES", value: (t) => String(t.messages), align: "right" },
    { header: "SIZE", value: (t) => formatBytes(t.bytes), align: "right" },
    { header: "OFFSETS", value: offsets },
    { header: "RETENTION", value: (t) => describeRetention(t.retention) },
    { header: "CREATED", value: (t) => ago(t.createdAt, now) },
  ];
}

async function list(args: Args, ctx: CommandContext): Promise<void> {
  const prefix = optString(args, "prefix");
  const client = await ctx.client();
  const { topics, readAt } = await client.topics.listWithReadAt({ timeoutMs: ctx.timeoutMs, ...readOptions(args), ...(prefix !== undefined ? { prefix } : {}) });
  if (ctx.json) return ctx.out.json(topics);
  noteReadAt(ctx, args, readAt);
  if (topics.length === 0) {
    ctx.out.line(prefix !== undefined ? `no topics start with ${prefix}` : "no topics yet; create one with `raftbus topic create <name>` (or just publish to it)");
    return;
  }
  ctx.out.line(...renderTable(topicColumns(Date.now()), topics, { style: ctx.out.style }));
}

/** `topic info` for people. */
export function topicInfoLines(t: TopicInfo, ctx: Pick<CommandContext, "out">, now: number): string[] {
  const style = ctx.out.style;
  const lines = renderKeyValues([
    ["topic", style("cyan", t.name)],
    ["messages", `${t.messages} (offsets ${offsets(t)})`],
    ["size", formatBytes(t.bytes)],
    ["retention", describeRetention(t.retention)],
    ["publish rate", `${t.publishRatePerSec.toFixed(t.publishRatePerSec < 10 ? 1 : 0)} msg/s`],
    ["dead letters", t.deadLettered > 0 ? style("yellow", `${t.deadLettered} (see \`raftbus dlq list ${t.name}\`)`) : "0"],
    ["created", `${isoTime(t.createdAt)} (${ago(t.createdAt, now)})`],
  ], style);
  lines.push("");
  if (t.subscriptions.length === 0) {
    lines.push(`no subscriptions; try \`raftbus sub ${t.name}\``);
    return lines;
  }
  lines.push(...renderTable([
    { header: "SUBSCRIPTION", value: (s) => s.id },
    { header: "DURABLE", value: (s) => (s.durable ? "yes" : "no") },
    { header: "PATTERN", value: (s) => s.pattern },
    { header: "IN FLIGHT", value: (s) => String(s.inFlight), align: "right" },
    { header: "LAG", value: (s) => String(s.lag), align: "right", style: (s) => (s.lag > 0 ? "yellow" : undefined) },
  ], t.subscriptions, { style }));
  return lines;
}

async function info(args: Args, ctx: CommandContext): Promise<void> {
  const name = reqString(args, "name", "topic info");
  const client = await ctx.client();
  const t = await client.topics.info(name, { timeoutMs: ctx.timeoutMs, ...readOptions(args) });
  if (ctx.json) return ctx.out.json(t);
  ctx.out.line(...topicInfoLines(t, ctx, Date.now()));
  noteReadAt(ctx, args, t.readAt);
}

async function remove(args: Args, ctx: CommandContext): Promise<void> {
  const name = reqString(args, "name", "topic delete");
  const client = await ctx.client();
  if (args["yes"] !== true) {
    // Ask with the size at stake (and fail early with TOPIC_NOT_FOUND).
    const t = await client.topics.info(name, { timeoutMs: ctx.timeoutMs });
    await confirmDestructive(ctx, args, "topic delete", `delete topic ${name} and its ${t.messages} message(s)?`);
  }
  const res = await client.topics.delete(name, { timeoutMs: ctx.timeoutMs });
  if (ctx.json) return ctx.out.json(res);
  ctx.out.line(`deleted topic ${res.topic} (${res.messagesRemoved} message(s) removed)`);
}

/** Register `topic …` under `y`. */
export function topicCommands(y: Argv, act: Act): Argv {
  const topicOf = (args: Args) => ({ topic: optString(args, "name") });
  return y
    .command("create <name>", "create a topic, optionally with retention limits", (yy: Argv) => yy
      .positional("name", { type: "string", describe: "topic name, e.g. orders.eu" })
      .option("max-messages", { type: "number", describe: "keep at most this many messages" })
      .option("max-age", { type: "string", describe: "drop messages older than this, e.g. 2h, 7d" })
      .option("max-bytes", { type: "string", describe: "keep at most this many bytes, e.g. 50MB, 1GiB" })
      .example("$0 topic create demo --max-messages 10000 --max-age 2h --max-bytes 50MB", ""), act("topic create", create, topicOf))
    .command(["list", "ls"], "list topics", (yy: Argv) => staleOption(yy)
      .option("prefix", { type: "string", describe: "only topics whose name starts with this" }), act("topic list", list))
    .command(["info <name>", "describe <name>"], "counts, offsets, retention and subscriptions of a topic", (yy: Argv) => staleOption(yy)
      .positional("name", { type: "string" }), act("topic info", info, topicOf))
    .command(["delete <name>", "rm <name>"], "delete a topic and all its messages", (yy: Argv) => yy
      .positional("name", { type: "string" })
      .option("yes", { alias: "y", type: "boolean", describe: "do not ask for confirmation" }), act("topic delete", remove, topicOf))
    .demandCommand(1, "say which: raftbus topic create|list|info|delete");
}

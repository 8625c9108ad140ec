/**
 * `raftbus dlq list|replay|purge <topic>` — the dead-letter queue of a topic:
 * messages whose subscribers gave up on them after their retries.
 */
import type { DeadLetter } from "@raftbus/client";
import type { Argv } from "yargs";
import { ago, deadLetterJson, payloadPreview } from "../output/format.ts";
import { renderTable, type Column } from "../output/table.ts";
import { intList, optInt, optString, reqString, type Args } from "../util/args.ts";
import { confirmDestructive, type Act, type CommandContext } from "./context.ts";
import { noteReadAt, readOptions, staleOption } from "./read.ts";

/** Largest `--limit` of `dlq list` (the server's page bound). */
const LIST_LIMIT_MAX = 10_000;

/** What `dlq replay` / `dlq purge` send: a topic and, optionally, which dead letters. @throws UsageError */
export function dlqSelectPlan(args: Args, command: string): { topic: string; ids?: number[] } {
  const topic = reqString(args, "topic", command);
  const ids = intList(args, "id", command, { min: 0 });
  return ids !== undefined && ids.length > 0 ? { topic, ids: [...new Set(ids)] } : { topic };
}

/** The columns of `dlq list`. */
export function deadLetterColumns(now: number): Column<DeadLetter>[] {
  return [
    { header: "ID", value: (d) => String(d.dlqId), align: "right" },
    { header: "OFFSET", value: (d) => String(d.message.offset), align: "right" },
    { header: "SUBSCRIPTION", value: (d) => d.subscription },
    { header: "ATTEMPTS", value: (d) => String(d.attempts), align: "right" },
    { header: "REASON", value: (d) => d.reason, shrink: true, minWidth: 16 },
    { header: "DEAD", value: (d) => ago(d.deadAt, now) },
    { header: "PAYLOAD", value: (d) => payloadPreview(d.message.payload), shrink: true, minWidth: 12 },
  ];
}

async function list(args: Args, ctx: CommandContext): Promise<void> {
  const topic = reqString(args, "topic", "dlq list");
  const limit = optInt(args, "limit", "dlq list", { min: 1, max: LIST_LIMIT_MAX });
  const fromId = optInt(args, "from-id", "dlq list", { min: 0 });
  const client = await ctx.client();
  const { messages: letters, readAt } = await client.dlq.listWithReadAt(topic, { timeoutMs: ctx.timeoutMs, ...readOptions(args), ...(limit !== undefined ? { limit } : {}), ...(fromId !== undefined ? { fromId } : {}) });
  if (ctx.json) return ctx.out.json(letters.map(deadLetterJson));
  noteReadAt(ctx, args, readAt);
  if (letters.length === 0) {
    ctx.out.line(`no dead letters in ${topic}`);
    return;
  }
  ctx.out.line(...renderTable(deadLetterColumns(Date.now()), letters, { style: ctx.out.style, ...(ctx.out.columns !== undefined ? { maxWidth: ctx.out.columns } : {}) }));
  ctx.out.line("", `replay them with \`raftbus dlq replay ${topic}\` (or --id N), drop them with \`raftbus dlq purge ${topic}\``);
}

async function replay(args: Args, ctx: CommandContext): Promise<void> {
  const plan = dlqSelectPlan(args, "dlq replay");
  const client = await ctx.client();
  const replayed = await client.dlq.replay(plan.topic, { timeoutMs: ctx.timeoutMs, ...(plan.ids !== undefined ? { ids: plan.ids } : {}) });
  if (ctx.json) return ctx.out.json({ topic: plan.topic, replayed });
  ctx.out.line(`replayed ${replayed} dead letter(s) to ${plan.topic}`);
}

async function purge(args: Args, ctx: CommandContext): Promise<void> {
  const plan = dlqSelectPlan(args, "dlq purge");
  const what = plan.ids !== undefined ? `dead letter(s) ${plan.ids.join(", ")} of ${plan.topic}` : `all dead letters of ${plan.topic}`;
  await confirmDestructive(ctx, args, "dlq purge", `purge ${what}?`);
  const client = await ctx.client();
  const purged = await client.dlq.purge(plan.topic, { timeoutMs: ctx.timeoutMs, ...(plan.ids !== undefined ? { ids: plan.ids } : {}) });
  if (ctx.json) return ctx.out.json({ topic: plan.topic, purged });
  ctx.out.line(`purged ${purged} dead letter(s) of ${plan.topic}`);
}

/** Register `dlq …` under `y`. */
export function dlqCommands(y: Argv, act: Act): Argv {
  const topicOf = (args: Args) => ({ topic: optString(args, "topic") });
  const ids = (yy: Argv): Argv => yy
    .positional("topic", { type: "string" })
    .option("id", { type: "number", array: true, describe: "only these dead-letter ids (default: all)" });
  return y
    .command("list <topic>", "list a topic's dead letters, oldest first", (yy: Argv) => staleOption(yy)
      .positional("topic", { type: "string" })
      .option("limit", { type: "number", describe: "at most this many (server default 100)" })
      .option("from-id", { type: "number", describe: "start at this dead-letter id" }), act("dlq list", list, topicOf))
    .command("replay <topic>", "publish dead letters to their topic again", (yy: Argv) => ids(yy)
      .example("$0 dlq replay alerts --id 3 4", ""), act("dlq replay", replay, topicOf))
    .command("purge <topic>", "delete dead letters", (yy: Argv) => ids(yy)
      .option("yes", { alias: "y", type: "boolean", describe: "do not ask for confirmation" }), act("dlq purge", purge, topicOf))
    .demandCommand(1, "say which: raftbus dlq list|replay|purge");
}

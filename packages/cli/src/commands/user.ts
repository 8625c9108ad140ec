/**
 * `raftbus user add|remove|list|rotate|grant`: users and what they may do
 * (README "Security"). `add` and `rotate` print the new token once — the
 * cluster keeps only its hash — so save it where the user's client reads it
 * (RAFTBUS_TOKEN, a credentials file, connect({ token })).
 */
import type { UserTokenResponse } from "@raftbus/client/protocol";
import type { Argv } from "yargs";
import { renderTable } from "../output/table.ts";
import type { Args } from "../util/args.ts";
import { reqString, stringList } from "../util/args.ts";
import { UsageError } from "../util/errors.ts";
import { confirmDestructive, type Act, type CommandContext } from "./context.ts";

const GRANT_HELP = "grants, comma-separated or repeated: admin, monitor, pub:PATTERN, sub:PATTERN, pubsub:PATTERN, admin:SCOPE (topics, subscriptions, dlq, maintenance, membership, users, sys, backup, keys, *), e.g. --grant pub:orders.**,sub:orders.**";

/** The --grant values, each split at commas. */
export function grantsOf(args: Args): string[] {
  return stringList(args, "grant").flatMap((g) => g.split(",")).map((g) => g.trim()).filter((g) => g.length > 0);
}

function printToken(ctx: CommandContext, r: UserTokenResponse, what: string): void {
  if (ctx.json) return ctx.out.json(r);
  ctx.err.line(`${what} user ${r.name} (grants: ${r.grants.join(", ") || "none"}); its token, shown this once:`);
  ctx.out.line(r.token);
}

async function add(args: Args, ctx: CommandContext): Promise<void> {
  const name = reqString(args, "name", "user add");
  const grants = grantsOf(args);
  if (grants.length === 0) throw new UsageError(`give the user at least one grant with --grant (${GRANT_HELP})`, "user add");
  const client = await ctx.client();
  printToken(ctx, await client.users.add(name, grants, { timeoutMs: ctx.timeoutMs }), "added");
}

async function rotate(args: Args, ctx: CommandContext): Promise<void> {
  const client = await ctx.client();
  printToken(ctx, await client.users.rotate(reqString(args, "name", "user rotate"), { timeoutMs: ctx.timeoutMs }), "new token for");
}

async function grant(args: Args, ctx: CommandContext): Promise<void> {
  const name = reqString(args, "name", "user grant");
  const grants = grantsOf(args);
  if (grants.length === 0) throw new UsageError(`give the new grants with --grant (${GRANT_HELP})`, "user grant");
  const client = await ctx.client();
  const r = await client.users.grant(name, grants, { timeoutMs: ctx.timeoutMs });
  if (ctx.json) return ctx.out.json({ ...r, grants });
  ctx.out.line(`user ${r.name} now has: ${grants.join(", ")}`);
}

async function remove(args: Args, ctx: CommandContext): Promise<void> {
  const name = reqString(args, "name", "user remove");
  await confirmDestructive(ctx, args, "user remove", `remove user ${name} (its token stops working, its connections close)?`);
  const client = await ctx.client();
  const r = await client.users.remove(name, { timeoutMs: ctx.timeoutMs });
  if (ctx.json) return ctx.out.json(r);
  ctx.out.line(`removed user ${r.name}`);
}

async function list(_args: Args, ctx: CommandContext): Promise<void> {
  const client = await ctx.client();
  const r = await client.users.list({ timeoutMs: ctx.timeoutMs });
  if (ctx.json) return ctx.out.json(r);
  if (r.admin !== undefined) ctx.out.line(`configured admin: ${r.admin} (node config; every permission)`);
  if (r.users.length === 0) return ctx.out.line("no users yet: add one with `raftbus user add NAME --grant pub:PATTERN,sub:PATTERN`");
  ctx.out.line(...renderTable([
    { header: "USER", value: (u: (typeof r.users)[number]) => u.name },
    { header: "GRANTS", value: (u) => u.grants.join(", ") },
    { header: "CHANGED", value: (u) => new Date(u.updatedAt).toISOString() },
  ], r.users, { style: ctx.out.style }));
}

/** Register `user …` under `y`. */
export function userCommands(y: Argv, act: Act): Argv {
  const name = (yy: Argv) => yy.positional("name", { type: "string", describe: "user name: 1–64 of A-Z a-z 0-9 _ -" });
  const grants = (yy: Argv) => name(yy).option("grant", { type: "string", array: true, describe: GRANT_HELP });
  return y
    .command("add <name>", "create a user and print its token (once)", grants, act("user add", add))
    .command("rotate <name>", "give a user a new token (printed once); the old one stops working", name, act("user rotate", rotate))
    .command("grant <name>", "replace a user's grants", grants, act("user grant", grant))
    .command("remove <name>", "delete a user; its token stops working", (yy: Argv) => name(yy).option("yes", { type: "boolean", default: false, describe: "do not ask" }), act("user remove", remove))
    .command("list", "users and their grants (never tokens)", (yy: Argv) => yy, act("user list", list))
    .demandCommand(1, "say which: raftbus user add|rotate|grant|remove|list");
}

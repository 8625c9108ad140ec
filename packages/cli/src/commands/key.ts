/**
 * `raftbus key add|list|remove`: topic signing keys (signed topics, issue
 * 13 part 4). A key guards the topics its pattern matches: from then on the
 * cluster refuses publishes there that are not signed with it
 * (SIGNATURE_REQUIRED / SIGNATURE_INVALID). `add` prints the key
 * (`rbtk1.…`) once; give it to the publishers (`raftbus pub --sign-key`,
 * the SDK's `sign` option) and to subscribers that verify.
 */
import type { Argv } from "yargs";
import { renderTable } from "../output/table.ts";
import { reqString, type Args } from "../util/args.ts";
import type { Act, CommandContext } from "./context.ts";

async function add(args: Args, ctx: CommandContext): Promise<void> {
  const name = reqString(args, "name", "key add");
  const pattern = reqString(args, "topics", "key add", false);
  const client = await ctx.client();
  const res = await client.keys.add(name, pattern, { timeoutMs: ctx.timeoutMs });
  if (ctx.json) return ctx.out.json(res);
  ctx.out.line(
    `added signing key ${ctx.out.style("bold", res.name)} (fingerprint ${res.fingerprint}) guarding ${res.pattern}: publishes there must now be signed with it`,
    "",
    res.key,
    "",
    ctx.out.style("dim", "This is the only time the key is shown. Publishers: RAFTBUS_SIGNING_KEY=<key> raftbus pub …, or the SDK's { sign: key }."),
  );
}

async function list(_args: Args, ctx: CommandContext): Promise<void> {
  const client = await ctx.client();
  const keys = await client.keys.list({ timeoutMs: ctx.timeoutMs });
  if (ctx.json) return ctx.out.json({ keys });
  if (keys.length === 0) return ctx.out.line("no signing keys: every topic takes unsigned messages");
  ctx.out.line(...renderTable([
    { header: "NAME", value: (k: (typeof keys)[number]) => k.name },
    { header: "TOPICS", value: (k) => k.pattern },
    { header: "FINGERPRINT", value: (k) => k.fingerprint },
    { header: "ADDED", value: (k) => new Date(k.createdAt).toISOString() },
  ], keys, { style: ctx.out.style }));
}

async function remove(args: Args, ctx: CommandContext): Promise<void> {
  const name = reqString(args, "name", "key remove");
  const client = await ctx.client();
  await client.keys.remove(name, { timeoutMs: ctx.timeoutMs });
  if (ctx.json) return ctx.out.json({ name });
  ctx.out.line(`removed signing key ${name}`);
}

/** Register `key …` under `y`. */
export function keyCommands(y: Argv, act: Act): Argv {
  return y
    .command("add <name>", "add a signing key: publishes to the topics it guards must be signed with it", (yy: Argv) => yy
      .positional("name", { type: "string", describe: "the key's name, e.g. deploy" })
      .option("topics", { type: "string", demandOption: true, describe: "the topics it guards: an exact name or a wildcard pattern, e.g. 'deploy.**'" })
      .example("$0 key add deploy --topics 'deploy.**'", ""), act("key add", add))
    .command("list", "the signing keys (names, topics, fingerprints; never the secrets)", (yy: Argv) => yy, act("key list", list))
    .command("remove <name>", "remove a signing key (its topics take unsigned messages again unless another key guards them)", (yy: Argv) => yy
      .positional("name", { type: "string" }), act("key remove", remove))
    .demandCommand(1, "say which: raftbus key add|list|remove");
}

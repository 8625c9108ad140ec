/**
 * The yargs command tree of `raftbus`. Each command lives in commands/;
 * this file only wires names, flags and exit codes.
 */
import yargs from "yargs";
import type { Argv } from "yargs";
import { clusterUp } from "./commands/cluster-up.ts";
import { nodeStart, nodeStartOptions } from "./commands/node-start.ts";
import { EXIT } from "./util/exit-codes.ts";

/** Parse `argv` and run the command; resolves with the process exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  let code: number = EXIT.OK;
  const cli = yargs([...argv])
    .scriptName("raftbus")
    .usage("$0 <command> [options]")
    .command("node <action>", "run a single node", (y: Argv) =>
      y.command("start", "start one node", nodeStartOptions, async (args) => {
        code = await nodeStart(args as Record<string, unknown>);
      }).demandCommand(1, "say which: raftbus node start"))
    .command("cluster <action>", "local cluster, status, membership", (y: Argv) =>
      y.command("up", "start a local cluster on this machine", (yy: Argv) => yy
        .option("nodes", { type: "number", default: 3, describe: "how many nodes (odd)" })
        .option("data-dir", { type: "string", default: "./data", describe: "where the nodes keep their data" })
        .option("base-port", { type: "number", default: 7001, describe: "client ports from here; peer ports from here + 100" })
        .option("log-level", { type: "string", default: "info" }), async (args) => {
        code = await clusterUp({
          nodes: args.nodes, dataDir: args["data-dir"], basePort: args["base-port"], logLevel: args["log-level"],
          readyTimeoutMs: 60_000, out: (l) => process.stdout.write(`${l}\n`),
        });
      }).demandCommand(1, "say which: raftbus cluster up"))
    .demandCommand(1, "say what to do; try raftbus --help")
    .strict()
    .completion("completion", "print a shell completion script (bash/zsh)")
    .help()
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`raftbus: ${msg}\nRun raftbus --help for usage.\n`);
      code = EXIT.USAGE;
    });
  await cli.parseAsync();
  return code;
}

/**
 * The yargs command tree of `raftbus`. Each command group lives in
 * commands/; this file only wires names, flags and exit codes.
 *
 * `node start` and `cluster up` pull in the broker, Raft and LevelDB; they
 * are loaded only when the command line can name them, so client commands
 * (pub, sub, topic…) start fast.
 */
import yargs from "yargs";
import type { Argv } from "yargs";
import { backupCommands, restoreCommand } from "./commands/backup.ts";
import { benchCommand } from "./commands/bench.ts";
import { clusterCommands } from "./commands/cluster.ts";
import { globalOptions, runHandler, type Act } from "./commands/context.ts";
import { dlqCommands } from "./commands/dlq.ts";
import { keyCommands } from "./commands/key.ts";
import { maintenanceCommands } from "./commands/maintenance.ts";
import { pubCommand } from "./commands/pub.ts";
import { statsCommand } from "./commands/stats.ts";
import { subscriptionCommands } from "./commands/subscription.ts";
import { subCommand } from "./commands/sub.ts";
import { sysCommands } from "./commands/sys.ts";
import { userCommands } from "./commands/user.ts";
import { topicCommands } from "./commands/topic.ts";
import { processIo, type Io } from "./output/io.ts";
import { EXIT } from "./util/exit-codes.ts";

const EPILOGUE = [
  "Servers: --servers, else RAFTBUS_SERVERS, else the local cluster of `pnpm start`.",
  "Token: --token, else RAFTBUS_TOKEN, else the file --credentials or RAFTBUS_CREDENTIALS, else ./data/credentials.",
  "Durations: 500ms 30s 5m 2h 1d. Sizes: 512B 64KB 50MB 1MiB.",
  "Exit codes: 0 ok, 1 failed (the server refused), 2 bad usage, 3 data on disk,",
  "4 no server reachable, 5 timeout.",
].join("\n");

/** Parse `argv` and run the command; resolves with the process exit code. `io` defaults to the real terminal. */
export async function run(argv: readonly string[], io: Io = processIo()): Promise<number> {
  let code: number = EXIT.OK;
  let usageReported = false;
  // yargs runs a command's handler even after its validation failed (bad choice, unknown flag): skip it then.
  const act: Act = (command, handler, failureContext) => async (args) => {
    if (usageReported) return;
    code = await runHandler(command, handler, args, io, failureContext?.(args) ?? {});
  };
  // Only a command line that can mean `node start` pays for loading the node (and its option list).
  const nodeStart = argv.includes("node") || argv.includes("--get-yargs-completions") ? await import("./commands/node-start.ts") : undefined;
  let cli: Argv = yargs([...argv])
    .scriptName("raftbus")
    // run() returns the exit code; bin.ts exits (also after --help), so tests can call run() in-process.
    .exitProcess(false)
    .usage("$0 <command> [options]")
    .parserConfiguration({ "parse-positional-numbers": false })
    .wrap(Math.min(120, io.stdout.columns ?? 100))
    .command("node", "run a single node", (y: Argv) =>
      y.command("start", "start one node", nodeStart?.nodeStartOptions ?? ((yy: Argv) => yy), async (args) => {
        if (usageReported) return;
        const { nodeStart: start } = nodeStart ?? (await import("./commands/node-start.ts"));
        code = await start(args as Record<string, unknown>);
      }).demandCommand(1, "say which: raftbus node start"))
    .command("cluster", "local cluster, status, membership", (y: Argv) =>
      clusterCommands(y.command("up", "start a local cluster on this machine", (yy: Argv) => yy
        .option("nodes", { type: "number", default: 3, describe: "how many nodes (odd)" })
        .option("data-dir", { type: "string", default: "./data", describe: "where the nodes keep their data" })
        .option("base-port", { type: "number", default: 7001, describe: "client ports from here; peer ports from here + 100" })
        .option("log-level", { type: "string", default: "info" }), async (args) => {
        if (usageReported) return;
        const { clusterUp } = await import("./commands/cluster-up.ts");
        code = await clusterUp({
          nodes: args.nodes, dataDir: args["data-dir"], basePort: args["base-port"], logLevel: args["log-level"],
          readyTimeoutMs: 60_000, out: (l) => process.stdout.write(`${l}\n`),
        });
      }), act).demandCommand(1, "say which: raftbus cluster up|status|add-node|remove-node|transfer-leader|finalize-upgrade"))
    .command("topic", "create, list, inspect and delete topics", (y: Argv) => topicCommands(y, act));
  cli = pubCommand(cli, act);
  cli = subCommand(cli, act);
  cli = cli
    .command("dlq", "dead-letter queues: list, replay, purge", (y: Argv) => dlqCommands(y, act))
    .command("maintenance", "run a maintenance job now: cleanup, compact, retry-failed", (y: Argv) => maintenanceCommands(y, act))
    .command(["subscription", "subs"], "list subscriptions", (y: Argv) => subscriptionCommands(y, act))
    .command("sys", "the cluster's own events ($sys.*): status, enable, disable, set, diagnose, key", (y: Argv) => sysCommands(y, act))
    .command("backup", "back up the cluster's state while it serves: create, verify", (y: Argv) => backupCommands(y, act))
    .command("user", "users and their grants: add, rotate, grant, remove, list", (y: Argv) => userCommands(y, act))
    .command("key", "topic signing keys: add, list, remove (signed topics)", (y: Argv) => keyCommands(y, act));
  cli = restoreCommand(cli, act);
  cli = statsCommand(cli, act);
  cli = benchCommand(cli, act);
  cli = globalOptions(cli)
    .demandCommand(1, "say what to do; try raftbus --help")
    .strict()
    .recommendCommands()
    .completion("completion", "print a shell completion script (bash/zsh)")
    .help()
    .alias("help", "h")
    .epilogue(EPILOGUE)
    .fail((msg, err) => {
      if (err) throw err;
      // yargs may report several problems of one command line; the first is the one to fix.
      if (usageReported) return;
      usageReported = true;
      io.stderr.write(`raftbus: ${msg}\n  see \`raftbus --help\` (or add --help to the command) for usage\n`);
      code = EXIT.USAGE;
    });
  await cli.parseAsync();
  return code;
}

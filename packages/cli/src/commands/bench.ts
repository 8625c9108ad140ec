/**
 * `raftbus bench [workload…]`: the benchmark suite (issue 14) — async, sync
 * and concurrent publishing, a durable consumer, a work queue, wildcard
 * fan-out, end-to-end latency; `--scale` adds 1,000,000 stored messages,
 * 10,000 topics and 10,000 wildcard subscriptions. Against the cluster named
 * by --servers / RAFTBUS_SERVERS, or a three-node cluster it starts with the
 * defaults of `pnpm start` (and stops by PID afterwards). Progress on
 * stderr; the report (or `--json`) on stdout.
 */
import type { Argv } from "yargs";
import type { Args } from "../util/args.ts";
import { flag, optInt, optString, stringList } from "../util/args.ts";
import { resolveToken } from "../util/credentials.ts";
import { UsageError } from "../util/errors.ts";
import { EXIT } from "../util/exit-codes.ts";
import type { Act, CommandContext } from "./context.ts";

const COMMAND = "bench";
/** 128 + SIGINT, as a shell reports a command stopped by Ctrl-C. */
const EXIT_INTERRUPTED = 130;

async function bench(args: Args, ctx: CommandContext): Promise<number> {
  const { runBench, selectWorkloads } = await import("../bench/runner.ts");
  const { reportLines } = await import("../bench/report.ts");
  const { streamProgress } = await import("../bench/progress.ts");
  const names = stringList(args, "workload");
  const scale = flag(args, "scale");
  try {
    selectWorkloads(names, scale);
  } catch (err) {
    throw new UsageError((err as Error).message, COMMAND);
  }
  const explicit = optString(args, "servers") ?? ctx.io.env["RAFTBUS_SERVERS"];
  const servers = explicit !== undefined && explicit !== "" ? explicit.split(",").map((s) => s.trim()).filter((s) => s.length > 0) : undefined;
  const profileDir = optString(args, "cpu-prof");
  if (profileDir !== undefined && servers !== undefined) throw new UsageError("--cpu-prof profiles nodes this benchmark starts; leave out --servers", COMMAND);
  // A running cluster (--servers) wants the CLI's token; the cluster a benchmark starts runs open on loopback.
  const token = servers !== undefined ? resolveToken({ token: optString(args, "token"), credentials: optString(args, "credentials") }, ctx.io.env) : undefined;
  const report = await runBench({
    signal: ctx.io.interrupted(),
    workloads: names, scale, quick: flag(args, "quick"),
    runs: optInt(args, "runs", COMMAND, { min: 1, max: 100 }) ?? 1,
    ...(servers !== undefined ? { servers } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(profileDir !== undefined ? { nodeExecArgv: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] } : {}),
    keepData: flag(args, "keep-data"),
    progress: streamProgress(process.stderr),
  });
  if (ctx.json) ctx.out.json(report);
  else ctx.out.line(...reportLines(report));
  if (report.interrupted) {
    ctx.err.line("raftbus bench: interrupted; the cluster it started is stopped; the report holds the workloads finished before");
    return EXIT_INTERRUPTED;
  }
  return report.runs.some((r) => r.error !== undefined) ? EXIT.FAILED : EXIT.OK;
}

/** Register `bench` under `y`. */
export function benchCommand(y: Argv, act: Act): Argv {
  return y.command("bench [workload..]", "benchmarks: publish, consume, work queue, fan-out, latency (--scale: 1M messages, 10k topics, 10k wildcards)", (yy: Argv) => yy
    .positional("workload", { type: "string", array: true, describe: "workloads to run (default: all but the scale ones)" })
    .option("quick", { type: "boolean", default: false, describe: "tiny message counts: check that it runs (figures mean nothing)" })
    .option("scale", { type: "boolean", default: false, describe: "also run the scale workloads (minutes)" })
    .option("runs", { type: "number", describe: "runs of each workload; the report shows medians (default 1)" })
    .option("cpu-prof", { type: "string", describe: "write a V8 CPU profile of every started node into this folder" })
    .option("keep-data", { type: "boolean", default: false, describe: "keep the started cluster's data folder" }), act(COMMAND, bench));
}

/**
 * `--stale` on the read commands (topic list/info, subscription list, dlq
 * list, stats). Without it a read is linearizable: the leader answers after
 * confirming its leadership, so the answer includes every write
 * acknowledged before. With it, the node the CLI reaches first answers from
 * its own applied state (the CLI then stays on that node instead of moving
 * to the leader), and the CLI says which node and applied index that was.
 */
import type { ReadAt, ReadOptions } from "@raftbus/client";
import type { Argv } from "yargs";
import type { Args } from "../util/args.ts";
import type { CommandContext } from "./context.ts";

/** Adds `--stale` to a read command. */
export function staleOption(y: Argv): Argv {
  return y.option("stale", {
    type: "boolean",
    default: false,
    describe: "answer from the first node reached, without asking the leader (fast, may lag; says which node and applied index)",
  });
}

/** The read options `--stale` asks for (default linearizable). */
export function readOptions(args: Args): Pick<ReadOptions, "consistency"> {
  return args["stale"] === true ? { consistency: "stale" } : {};
}

/** For people: after a stale read, which node answered and as of which applied index. */
export function noteReadAt(ctx: CommandContext, args: Args, readAt: ReadAt | undefined): void {
  if (ctx.json || args["stale"] !== true || readAt === undefined) return;
  ctx.err.line(ctx.err.style("dim", `(stale read from ${readAt.nodeId} at applied index ${readAt.appliedIndex})`));
}

/** `raftbus maintenance cleanup|compact|retry-failed` — run one maintenance job now. */
import type { MaintenanceKind, MaintenanceResponse } from "@raftbus/client";
import type { Argv } from "yargs";
import type { Args } from "../util/args.ts";
import { formatDuration } from "../util/units.ts";
import type { Act, CommandContext } from "./context.ts";

/** The jobs, what each does, and how to say what it affected. */
const JOBS: readonly { kind: MaintenanceKind; describe: string; affected: string }[] = [
  { kind: "cleanup", describe: "remove expired messages (TTL, retention) now", affected: "expired message(s) removed" },
  { kind: "compact", describe: "compact the message store and the Raft log", affected: "message(s) removed" },
  { kind: "retry-failed", describe: "re-queue failed deliveries waiting for their backoff", affected: "message(s) re-queued" },
];

/** One line for people about a finished job. */
export function describeMaintenance(res: MaintenanceResponse): string {
  const job = JOBS.find((j) => j.kind === res.kind);
  return `${res.kind}: ${res.affected} ${job?.affected ?? "affected"} in ${formatDuration(res.durationMs)}`;
}

function runJob(kind: MaintenanceKind) {
  return async (_args: Args, ctx: CommandContext): Promise<void> => {
    const client = await ctx.client();
    const res = await client.maintenance.run(kind, { timeoutMs: ctx.timeoutMs });
    if (ctx.json) return ctx.out.json(res);
    ctx.out.line(describeMaintenance(res));
  };
}

/** Register `maintenance …` under `y`. */
export function maintenanceCommands(y: Argv, act: Act): Argv {
  for (const job of JOBS) y.command(job.kind, job.describe, (yy: Argv) => yy, act(`maintenance ${job.kind}`, runJob(job.kind)));
  return y.demandCommand(1, "say which: raftbus maintenance cleanup|compact|retry-failed");
}

/**
 * `pnpm chaos` — one chaos scenario against real node processes:
 *
 *   pnpm chaos --time 60s --faults partition,kill,pause,membership --seed 42
 *
 * Flags: --time (default 60s), --faults (kinds or groups: all, partition,
 * network, crash, clock; default all), --seed (default random), --nodes
 * (3), --layer auto|netns|loopback, --rate (ops/s per publishing loop, 25),
 * --out DIR, --keep-data, --snapshot-entries N (default 2000, so
 * snapshot catch-up happens under faults), --unsafe SWITCH (test-only; breaks a promise on
 * purpose, to show the checker catches it). Prints the verdict table,
 * writes report.json, report.html and history.jsonl, and exits 1 on any
 * safety violation (printing the command that replays the schedule),
 * 2 on bad usage, 3 when the harness itself failed.
 */
import { parseArgs } from "node:util";
import { parseDuration } from "../../packages/cli/src/util/units.ts";
import { runChaos } from "../../test/chaos/run.ts";
import { FAULT_KINDS, parseFaults } from "../../test/chaos/schedule/schedule.ts";

/** Parse the shared flags of `pnpm chaos` and `pnpm chaos:soak`. */
export function chaosArgs(argv: readonly string[], defaults: { time: string; faults: string; command: string }) {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      time: { type: "string", default: defaults.time },
      faults: { type: "string", default: defaults.faults },
      seed: { type: "string" },
      nodes: { type: "string", default: "3" },
      layer: { type: "string", default: "auto" },
      rate: { type: "string", default: "25" },
      out: { type: "string" },
      unsafe: { type: "string" },
      "snapshot-entries": { type: "string" },
      "keep-data": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`usage: ${defaults.command} [--time 60s] [--faults all|partition|network|crash|clock|${FAULT_KINDS.join("|")},…] [--seed N]\n` +
      "       [--nodes 3] [--layer auto|netns|loopback] [--rate 25] [--out DIR] [--keep-data] [--snapshot-entries N]\n");
    process.exit(0);
  }
  const timeMs = parseDuration(values.time);
  if (timeMs === undefined || timeMs < 5000) throw new Error(`--time: "${values.time}" must be a duration of at least 5s`);
  const nodes = Number(values.nodes);
  if (!Number.isInteger(nodes) || nodes < 3 || nodes % 2 === 0 || nodes > 7) throw new Error("--nodes: an odd number from 3 to 7");
  const layer = values.layer;
  if (layer !== "auto" && layer !== "netns" && layer !== "loopback") throw new Error("--layer: auto, netns or loopback");
  const rate = Number(values.rate);
  if (!(rate > 0 && rate <= 500)) throw new Error("--rate: ops per second per publisher, 1..500");
  const snapshotEntries = values["snapshot-entries"] === undefined ? undefined : Number(values["snapshot-entries"]);
  if (snapshotEntries !== undefined && !(Number.isInteger(snapshotEntries) && snapshotEntries >= 1)) throw new Error("--snapshot-entries: a positive integer");
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new Error("--seed: a non-negative integer");
  return {
    seed, timeMs, faults: parseFaults(values.faults), nodes, layer, rate, command: defaults.command,
    ...(values.out !== undefined ? { outDir: values.out } : {}),
    ...(values.unsafe !== undefined ? { unsafe: values.unsafe } : {}),
    ...(snapshotEntries !== undefined ? { snapshotEntries } : {}),
    keepData: values["keep-data"], handleSignals: true,
  } as const;
}

/** Run and exit with the verdict. */
export async function main(argv: readonly string[], defaults: { time: string; faults: string; command: string }, extra: { faultMs?: [number, number]; quietMs?: [number, number] } = {}): Promise<never> {
  let opts;
  try {
    opts = chaosArgs(argv, defaults);
  } catch (err) {
    process.stderr.write(`${defaults.command}: ${(err as Error).message}\n`);
    process.exit(2);
  }
  try {
    const { report, table } = await runChaos({ ...opts, ...extra });
    process.stdout.write(`${table}\n`);
    process.exit(report.ok ? 0 : 1);
  } catch {
    process.exit(3);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main(process.argv.slice(2), { time: "60s", faults: "all", command: "pnpm chaos" });
}

/**
 * `pnpm sim --seeds N --steps M [--from S]`: run N seeds of the cluster
 * simulator starting at seed S. The last line is `sim: N seeds passed, F
 * failed`; the exit code is non-zero on failure, and every failure prints its
 * seed and the command that replays it.
 */
import { parseArgs } from "node:util";
import { defaultSimOptions, replayCommand, runSeed } from "./cluster.ts";

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "100" },
    steps: { type: "string", default: "2000" },
    from: { type: "string", default: "1" },
    verbose: { type: "boolean", default: false },
  },
});

const seeds = Number(values.seeds);
const steps = Number(values.steps);
const from = Number(values.from);
if (![seeds, steps, from].every((n) => Number.isInteger(n) && n >= 0)) {
  console.error("sim: --seeds, --steps and --from take whole numbers");
  process.exit(2);
}

let passed = 0;
let failed = 0;
const started = Date.now();
for (let seed = from; seed < from + seeds; seed++) {
  const r = runSeed(defaultSimOptions(seed, steps));
  if (r.ok) {
    passed++;
    if (values.verbose) console.log(`seed ${seed} ok ${JSON.stringify(r.stats)}`);
  } else {
    failed++;
    console.log(`seed ${seed} FAILED: ${r.error}`);
    console.log(`  replay: ${replayCommand(seed, steps)}`);
  }
}
console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
console.log(`sim: ${passed} seeds passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);

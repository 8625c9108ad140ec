/**
 * The body of `pnpm sim`: run seeds of the simulator with any setting pinned
 * by a flag, print one line per failure with the command that replays it,
 * and exit non-zero on failure. Applications are passed in by the entry
 * point, which can see both packages (the raft package cannot import the broker).
 */
import { parseArgs } from "node:util";
import type { SimApp } from "./app.ts";
import type { SimOptions, SimSettings } from "./options.ts";
import { SETTING_FLAGS, flagName, parseSetting, settingsFor } from "./options.ts";
import { failureMessage, runSeed } from "./runner.ts";

const USAGE = `pnpm sim [--app kv|broker] [--seeds N] [--from S] [--steps M] [--verbose] [--<setting> value ...]
settings (drawn from the seed unless given): ${Object.keys(SETTING_FLAGS).map((k) => `--${flagName(k)}`).join(" ")}`;

/** Runs the command line `argv` against `apps`; resolves with the exit code. */
export async function simMain(argv: readonly string[], apps: readonly SimApp[]): Promise<number> {
  const settingOptions = Object.fromEntries(Object.keys(SETTING_FLAGS).map((k) => [flagName(k), { type: "string" as const }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        app: { type: "string", default: "kv" }, seeds: { type: "string", default: "20" }, from: { type: "string", default: "1" },
        steps: { type: "string", default: "2000" }, verbose: { type: "boolean", default: false }, help: { type: "boolean", default: false },
        ...settingOptions,
      },
    }));
  } catch (e) {
    console.error(`sim: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values["help"] === true) {
    console.log(USAGE);
    return 0;
  }
  const app = apps.find((a) => a.name === values["app"]);
  const [seeds, from, steps] = (["seeds", "from", "steps"] as const).map((k) => Number(values[k]));
  if (app === undefined || ![seeds, from, steps].every((n) => Number.isInteger(n) && n! >= 0)) {
    console.error(`sim: --app is one of ${apps.map((a) => a.name).join(", ")}; --seeds, --from and --steps take whole numbers\n${USAGE}`);
    return 2;
  }
  const pinned: Partial<SimSettings> = {};
  try {
    for (const key of Object.keys(SETTING_FLAGS) as (keyof SimSettings)[]) {
      const raw = values[flagName(key)];
      if (typeof raw === "string") (pinned as Record<string, number | boolean>)[key] = parseSetting(key, raw);
    }
  } catch (e) {
    console.error(`sim: ${(e as Error).message}`);
    return 2;
  }
  let failed = 0;
  const started = Date.now();
  for (let seed = from!; seed < from! + seeds!; seed++) {
    const opts: SimOptions = { seed, steps: steps!, app: app.name, pinned };
    const r = await runSeed(opts, app);
    if (!r.ok) {
      failed++;
      console.log(failureMessage(r));
    } else if (values["verbose"] === true) {
      console.log(`seed ${seed} ok ${JSON.stringify(settingsFor(opts))} ${JSON.stringify(r.stats)}`);
    }
  }
  const cpu = process.cpuUsage();
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s cpu)`);
  console.log(`sim: ${seeds! - failed} seeds passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

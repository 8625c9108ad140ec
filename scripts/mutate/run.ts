/**
 * `pnpm mutate`: mutation testing of the simulator and the fast tests.
 *
 * Copies the repository (tracked and new files, never the working tree
 * itself) into temporary directories and installs them offline from the
 * pnpm store; then, one mutant at a time per copy, applies the mutant's
 * source patch, runs the simulator's default sweep until a seed fails
 * (scripts/mutate/sweep.ts) and the fast tests, and restores the file. The
 * report is a table: mutant, caught?, by which check or test, after how
 * many seeds. Exit code 1 when a mutant survives or a patch is stale.
 *
 * Options: --only a,b (mutant ids)  --jobs N (copies in parallel, default 2)
 * --max-seeds N (cap the sweep)  --no-tests  --no-sim  --keep (keep the copies).
 */
import { execFile, spawn } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import type { Mutant } from "./catalogue.ts";
import { CATALOGUE, stalePatches } from "./catalogue.ts";
import type { SweepOutcome } from "./sweep.ts";

const run = promisify(execFile);
const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "../..");

/** The fast tests every mutant also runs against (seconds, not minutes). */
const FAST_TESTS = [
  "packages/raft/test/core", "packages/raft/test/interaction", "packages/raft/test/scenarios", "packages/raft/test/node",
  "packages/raft/test/storage", "packages/broker/test/store", "packages/broker/test/determinism",
];

/** One mutant's outcome. */
interface Outcome {
  readonly mutant: Mutant;
  readonly sim?: SweepOutcome;
  readonly tests?: { failed: string[] };
  readonly seconds: number;
}

const { values } = parseArgs({
  options: {
    only: { type: "string" }, jobs: { type: "string", default: "2" }, "max-seeds": { type: "string" },
    "no-tests": { type: "boolean", default: false }, "no-sim": { type: "boolean", default: false }, keep: { type: "boolean", default: false },
  },
});

/** Fails when a patch does not match its file exactly once (the catalogue went stale). */
async function checkPatches(dir: string, mutants: readonly Mutant[]): Promise<void> {
  const stale = await stalePatches(dir, mutants);
  if (stale.length > 0) throw new Error(`stale mutants (update scripts/mutate/catalogue.ts):\n  ${stale.join("\n  ")}`);
}

/** A copy of the repository's files (tracked and untracked, not ignored) with its own install. */
async function copyRepository(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "raftbus-mutate-"));
  const { stdout } = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, maxBuffer: 64 << 20 });
  for (const file of stdout.split("\0").filter((f) => f.length > 0)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await copyFile(join(ROOT, file), join(dir, file)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw e; // deleted in the working tree but still tracked
    });
  }
  try {
    await run("pnpm", ["install", "--frozen-lockfile", "--offline"], { cwd: dir, maxBuffer: 64 << 20 });
  } catch {
    await run("pnpm", ["install", "--frozen-lockfile"], { cwd: dir, maxBuffer: 64 << 20 });
  }
  return dir;
}

/**
 * A run that prints nothing for this long is hung: a mutant can make the
 * code loop in microtasks forever, where no test timeout (and no timer of
 * the simulator) can fire. Progress is printed per seed and per test file,
 * and neither takes anywhere near this long on a loaded machine.
 */
const IDLE_MS_MAX = 10 * 60_000;

/** What a child run printed, and whether it was killed for printing nothing for IDLE_MS_MAX. */
interface Captured {
  readonly out: string;
  readonly hung: boolean;
}

/** Runs `cmd` in `cwd`, resolving with its stdout whatever its exit code; kills it (and its children) once idle too long. */
function capture(cmd: string, args: readonly string[], cwd: string): Promise<Captured> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    let hung = false;
    let idle: NodeJS.Timeout | undefined;
    const alive = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        hung = true;
        try {
          process.kill(-child.pid!, "SIGKILL"); // its own process group: vitest's workers too
        } catch {
          child.kill("SIGKILL");
        }
      }, IDLE_MS_MAX);
    };
    alive();
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      alive();
    });
    child.stderr.on("data", alive);
    child.on("close", () => {
      clearTimeout(idle);
      done({ out, hung });
    });
  });
}

const HUNG = `hung: printed nothing for ${IDLE_MS_MAX / 60_000} min (a livelock: the process never yields to timers)`;

async function simSweep(dir: string): Promise<Outcome["sim"]> {
  const args = ["--conditions=@raftbus/source", "--import", "tsx", "scripts/mutate/sweep.ts"];
  if (values["max-seeds"] !== undefined) args.push("--max-seeds", values["max-seeds"]);
  const { out, hung } = await capture("node", args, dir);
  if (hung) return { caught: true, seedsRun: out.trim().split("\n").filter((l) => l.startsWith("seed ")).length + 1, invariant: HUNG };
  const line = out.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as SweepOutcome;
  } catch {
    return { caught: true, seedsRun: 0, invariant: `sweep crashed: ${line.slice(0, 120)}` };
  }
}

async function fastTests(dir: string): Promise<Outcome["tests"]> {
  const report = join(dir, ".mutate-report.json");
  await rm(report, { force: true });
  const { hung } = await capture("pnpm", ["exec", "vitest", "run", ...FAST_TESTS, "--reporter=json", "--reporter=dot", `--outputFile.json=${report}`], dir);
  if (hung) return { failed: [`(${HUNG})`] };
  try {
    const json = JSON.parse(await readFile(report, "utf8")) as { testResults: { assertionResults: { status: string; fullName: string }[] }[] };
    return { failed: json.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status === "failed").map((a) => a.fullName)) };
  } catch {
    return { failed: ["(the test run did not finish: the mutant broke module loading or a file crashed)"] };
  }
}

async function runMutant(dir: string, m: Mutant): Promise<Outcome> {
  const started = Date.now();
  const originals = new Map<string, string>();
  for (const p of m.patches) {
    const path = join(dir, p.file);
    const text = originals.get(path) ?? (await readFile(path, "utf8"));
    if (!originals.has(path)) originals.set(path, text);
    await writeFile(path, (await readFile(path, "utf8")).replace(p.find, p.replace));
  }
  try {
    const sim = values["no-sim"] ? undefined : await simSweep(dir);
    const tests = values["no-tests"] ? undefined : await fastTests(dir);
    return { mutant: m, ...(sim ? { sim } : {}), ...(tests ? { tests } : {}), seconds: (Date.now() - started) / 1000 };
  } finally {
    for (const [path, text] of originals) await writeFile(path, text);
  }
}

function report(outcomes: readonly Outcome[]): boolean {
  const rows = outcomes.map((o) => {
    const simCaught = o.sim?.caught === true;
    const testsCaught = (o.tests?.failed.length ?? 0) > 0;
    const by = [
      simCaught ? `sim: ${o.sim!.invariant} (after ${o.sim!.seedsRun} seed${o.sim!.seedsRun === 1 ? "" : "s"})` : o.sim ? `sim: not caught in ${o.sim.seedsRun} seeds` : "",
      o.tests ? (testsCaught ? `tests: ${o.tests.failed.length} failed (e.g. ${o.tests.failed[0]!.slice(0, 70)})` : "tests: all passed") : "",
    ].filter((s) => s.length > 0).join("; ");
    return { id: o.mutant.id, caught: simCaught || testsCaught, by, seconds: o.seconds };
  });
  const w = Math.max(...rows.map((r) => r.id.length));
  console.log(`\n${"mutant".padEnd(w)}  caught  by (check or test, seeds until caught)                                  time`);
  for (const r of rows) console.log(`${r.id.padEnd(w)}  ${r.caught ? "yes   " : "NO    "}  ${r.by}  ${r.seconds.toFixed(0)} s`);
  const survived = rows.filter((r) => !r.caught);
  console.log(`\nmutate: ${rows.length - survived.length} of ${rows.length} mutants caught${survived.length > 0 ? `; survived: ${survived.map((r) => r.id).join(", ")}` : ""}`);
  return survived.length === 0;
}

async function main(): Promise<number> {
  const only = values.only?.split(",").map((s) => s.trim());
  const mutants = only === undefined ? CATALOGUE : CATALOGUE.filter((m) => only.includes(m.id));
  if (mutants.length === 0) throw new Error(`no mutant matches --only ${values.only}`);
  await checkPatches(ROOT, mutants);
  const jobs = Math.max(1, Math.min(Number(values.jobs), mutants.length));
  const started = Date.now();
  console.log(`mutate: ${mutants.length} mutants, ${jobs} cop${jobs === 1 ? "y" : "ies"} of the repository`);
  const dirs = await Promise.all(Array.from({ length: jobs }, () => copyRepository()));
  const queue = [...mutants];
  const outcomes: Outcome[] = [];
  try {
    await Promise.all(dirs.map(async (dir) => {
      for (let m = queue.shift(); m !== undefined; m = queue.shift()) {
        const o = await runMutant(dir, m);
        outcomes.push(o);
        const sim = o.sim === undefined ? "sim not run" : o.sim.caught ? `sim caught it (${o.sim.invariant}, seed #${o.sim.seedsRun})` : `sim did not catch it in ${o.sim.seedsRun} seeds`;
        console.log(`  ${m.id}: ${sim}` +
          `${o.tests ? `, ${o.tests.failed.length} fast tests failed` : ""} (${o.seconds.toFixed(0)} s)`);
      }
    }));
  } finally {
    if (!values.keep) for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
  outcomes.sort((a, b) => CATALOGUE.indexOf(a.mutant) - CATALOGUE.indexOf(b.mutant));
  const ok = report(outcomes);
  console.log(`(${((Date.now() - started) / 60_000).toFixed(1)} min)`);
  return ok ? 0 : 1;
}

main().then((code) => {
  process.exitCode = code;
}, (err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 2;
});

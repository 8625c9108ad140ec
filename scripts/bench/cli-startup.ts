/**
 * Start-up time of the `raftbus` command as a user runs it: plain `node` on
 * the compiled CLI (`packages/cli/dist/bin.js`, built first), wall time from
 * spawn to exit. Budgets (issue 12, on an idle 2-core machine): `--help`
 * under 300 ms, `pub` against a running local cluster under 500 ms. Also
 * `cluster status`, and the same three through `pnpm raftbus` for reference
 * (pnpm itself adds its own start-up).
 *
 *   pnpm bench:micro cli-startup [--runs 15]
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { LocalCluster } from "../../test/support/local-cluster.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "15" } } });
const runs = Number(values.runs);
const root = fileURLToPath(new URL("../../", import.meta.url));
const bin = `${root}packages/cli/dist/bin.js`;

const build = spawnSync("pnpm", ["build"], { cwd: root, stdio: "inherit" });
if (build.status !== 0) process.exit(1);

/** Wall times of `runs` runs of one command, in ms; fails loudly when the command fails. */
function time(command: string, args: readonly string[], env: NodeJS.ProcessEnv): number[] {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(command, args, { cwd: root, env, encoding: "utf8" });
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  }
  return ms.sort((a, b) => a - b);
}

const pct = (xs: readonly number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;

const cluster = await LocalCluster.start({ extraArgs: ["--log-level", "warn"] });
try {
  // The CLI under test runs from the build: no source condition for it.
  const env: NodeJS.ProcessEnv = { ...process.env, RAFTBUS_SERVERS: cluster.servers().join(","), NODE_OPTIONS: "" };
  const cases: { name: string; args: string[]; budgetMs?: number }[] = [
    { name: "--help", args: ["--help"], budgetMs: 300 },
    { name: "pub", args: ["pub", "bench.cli", "hello"], budgetMs: 500 },
    { name: "cluster status", args: ["cluster", "status"] },
  ];
  console.log(`raftbus start-up, ${runs} runs each (wall time, spawn to exit; load average ${(await import("node:os")).loadavg()[0]!.toFixed(2)})`);
  console.log("command                          p50 ms   p90 ms   budget");
  let over = 0;
  for (const c of cases) {
    const node = time(process.execPath, [bin, ...c.args], env);
    const ok = c.budgetMs === undefined || pct(node, 0.5) < c.budgetMs;
    if (!ok) over++;
    console.log(`node dist/bin.js ${c.name.padEnd(16)} ${pct(node, 0.5).toFixed(0).padStart(6)}   ${pct(node, 0.9).toFixed(0).padStart(6)}   ${c.budgetMs === undefined ? "" : `${c.budgetMs}${ok ? "" : "  OVER"}`}`);
  }
  for (const c of cases) {
    const viaPnpm = time("pnpm", ["--silent", "raftbus", ...c.args], env);
    console.log(`pnpm raftbus ${c.name.padEnd(20)} ${pct(viaPnpm, 0.5).toFixed(0).padStart(6)}   ${pct(viaPnpm, 0.9).toFixed(0).padStart(6)}`);
  }
  if (over > 0) console.log(`${over} over budget (budgets hold on an idle machine; check the load average above)`);
} finally {
  await cluster.destroy();
}
process.exit(0);

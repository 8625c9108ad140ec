/**
 * `pnpm bench:micro [name…] [--option value…]` (options go to each benchmark): the component benchmarks here (broker apply,
 * Raft core and commit, failover, CLI start-up), one after the other so they
 * do not compete for the two cores. Each prints its own table. The
 * client-level suite is `pnpm bench` (`raftbus bench`).
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
const all = readdirSync(dir).filter((f) => f.endsWith(".ts") && f !== "index.ts").map((f) => f.replace(/\.ts$/, "")).sort();
// Names first, then options for the benchmarks (`cli-startup --runs 15`).
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith("-"));
const wanted = firstOption < 0 ? args : args.slice(0, firstOption);
const options = firstOption < 0 ? [] : args.slice(firstOption);
const chosen = wanted.length > 0 ? wanted : all;
const unknown = chosen.filter((c) => !all.includes(c));
if (unknown.length > 0) {
  console.error(`bench: unknown benchmark(s) ${unknown.join(", ")}; available: ${all.join(", ")}`);
  process.exit(2);
}
let failed = 0;
for (const name of chosen) {
  console.log(`\n=== ${name}`);
  const r = spawnSync(process.execPath, ["--import", "tsx", `${dir}${name}.ts`, ...options], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);

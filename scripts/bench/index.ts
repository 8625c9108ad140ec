/**
 * `pnpm bench:micro [name…]`: the component benchmarks here (broker apply,
 * Raft core and commit, failover, CLI start-up), one after the other so they
 * do not compete for the two cores. Each prints its own table. The
 * client-level suite is `pnpm bench` (`raftbus bench`).
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
const all = readdirSync(dir).filter((f) => f.endsWith(".ts") && f !== "index.ts").map((f) => f.replace(/\.ts$/, "")).sort();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const chosen = wanted.length > 0 ? wanted : all;
const unknown = chosen.filter((c) => !all.includes(c));
if (unknown.length > 0) {
  console.error(`bench: unknown benchmark(s) ${unknown.join(", ")}; available: ${all.join(", ")}`);
  process.exit(2);
}
let failed = 0;
for (const name of chosen) {
  console.log(`\n=== ${name}`);
  const r = spawnSync(process.execPath, ["--import", "tsx", `${dir}${name}.ts`], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);

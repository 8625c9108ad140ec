// Bundles the dashboard (packages/broker/dashboard/src/app.ts + the SDK's
// browser build) into packages/broker/dashboard/dist/app.js with esbuild.
// Runs at build time (`pnpm build`, and `prepare` on install), never when a
// node starts. Exported for tests that need the bundle.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL("../packages/broker/dashboard/", import.meta.url));

/** Build the bundle; resolves with its size in bytes. */
export async function buildDashboard() {
  const r = await build({
    entryPoints: [`${dir}src/app.ts`],
    outfile: `${dir}dist/app.js`,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: false,
    // Bundle the SDK from its sources (dist may not be built yet).
    conditions: ["@raftbus/source"],
    metafile: true,
    logLevel: "warning",
  });
  return Object.values(r.metafile.outputs).reduce((a, o) => a + o.bytes, 0);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const bytes = await buildDashboard();
  process.stdout.write(`dashboard bundle: ${(bytes / 1024).toFixed(1)} KiB\n`);
}

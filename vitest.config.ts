import { defineConfig } from "vitest/config";

/**
 * The workspace packages export their compiled build (`dist/`) to the world
 * and their TypeScript sources under the custom condition `@raftbus/source`.
 * Tests run against the sources: vitest resolves with the condition, and
 * every node process a test spawns (`node --import tsx …/src/bin.ts`)
 * inherits it through NODE_OPTIONS — so no test needs a build first.
 */
const SOURCE_CONDITION = "@raftbus/source";
const nodeOptions = [process.env["NODE_OPTIONS"], `--conditions=${SOURCE_CONDITION}`].filter(Boolean).join(" ");

export default defineConfig({
  resolve: { conditions: [SOURCE_CONDITION, "module", "node", "development|production"] },
  ssr: { resolve: { conditions: [SOURCE_CONDITION, "module", "node", "development|production"] } },
  test: {
    // The default run (`pnpm test`) must stay under 15 minutes on 2 cores.
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/node_modules/**"],
    env: { NODE_OPTIONS: nodeOptions },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // vitest defaults to cores − 1 workers: one on the 2-core CI machines.
    maxWorkers: 2,
  },
});

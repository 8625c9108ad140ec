import { defineConfig } from "vitest/config";

// The default run (`pnpm test`) must stay under 15 minutes on 2 cores.
// Long soak/chaos runs live under test/soak and run only via `pnpm soak`.
const soak = process.env.RAFTBUS_SOAK === "1";

export default defineConfig({
  test: {
    include: soak ? ["test/soak/**/*.test.ts"] : ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    exclude: soak ? ["**/node_modules/**"] : ["**/node_modules/**", "test/soak/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // vitest defaults to cores − 1 workers: one on the 2-core CI machines.
    maxWorkers: 2,
  },
});

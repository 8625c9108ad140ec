/**
 * `pnpm chaos:soak` — the long mixed schedule: every fault kind, in
 * shuffled rounds with shorter quiet gaps, for 10 minutes by default
 * (same flags as `pnpm chaos`).
 */
import { main } from "./chaos.ts";

await main(process.argv.slice(2), { time: "10m", faults: "all", command: "pnpm chaos:soak" }, { faultMs: [3000, 9000], quietMs: [1500, 4000] });

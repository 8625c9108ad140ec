/**
 * The default run's simulator sweep keeps at least 10⁶ seed·steps (issue
 * 11): both applications' batches, every seed of which `pnpm test` runs.
 */
import { expect, it } from "vitest";
import { KV_SWEEP, seedSteps } from "../../../raft/test/sim/sweep.ts";
import { BROKER_SWEEP } from "./sweep.ts";

it("the default sweep is at least 10⁶ seed·steps, with the broker's seeds a fifth of it or more", () => {
  const kv = seedSteps(KV_SWEEP);
  const broker = seedSteps(BROKER_SWEEP);
  expect(kv + broker).toBeGreaterThanOrEqual(1_000_000);
  expect(broker / (kv + broker)).toBeGreaterThanOrEqual(0.2);
});

it("no two batches share a seed of the same application and cluster size", () => {
  for (const sweep of [KV_SWEEP, BROKER_SWEEP]) {
    const seen = new Set<string>();
    for (const b of sweep) {
      for (let s = b.from; s < b.from + b.count; s++) {
        const key = `${JSON.stringify(b.pinned ?? {})}/${s}`;
        expect(seen.has(key), `seed ${s} twice`).toBe(false);
        seen.add(key);
      }
    }
  }
});

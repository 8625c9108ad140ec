/** Default simulator sweep, key-value application: this file's seeds (see sweep.ts). */
import { describe } from "vitest";
import { kvApp } from "./kv-app.ts";
import { registerSeeds } from "./seeds.ts";
import { KV_SWEEP, batchOf } from "./sweep.ts";

const batch = batchOf(KV_SWEEP, "sweep-kv-3.test.ts");

describe(`sim (kv): seeds ${batch.from}–${batch.from + batch.count - 1} × ${batch.steps} steps${batch.pinned ? ` ${JSON.stringify(batch.pinned)}` : ""}`, () => {
  registerSeeds({ app: kvApp, ...batch });
});

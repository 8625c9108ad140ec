/**
 * Determinism (STYLE.md practice 7): replicas that apply the same log hold
 * the same bytes, whatever their apply() batch boundaries, restarts or
 * snapshot installs.
 */
import { rm } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { BrokerStateMachine } from "../../src/index.ts";
import type { Entry } from "../../src/raft-api.ts";
import { Harness, tempDir } from "../helpers/harness.ts";
import { rng, runScenario } from "../helpers/scenario.ts";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function fresh(): Promise<BrokerStateMachine> {
  const dir = await tempDir();
  const b = await BrokerStateMachine.open(dir);
  cleanup.push(async () => {
    await b.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  return b;
}

/** Replays `log` in randomly sized apply() batches, reopening the broker now and then. */
async function replayChunked(log: readonly Entry[], seed: number): Promise<{ digest: string; dir: string }> {
  const dir = await tempDir();
  let b = await BrokerStateMachine.open(dir);
  const r = rng(seed);
  let i = 0;
  while (i < log.length) {
    const n = 1 + Math.floor(r() * 7);
    await b.apply(log.slice(i, i + n));
    i += n;
    if (r() < 0.1) {
      await b.close();
      b = await BrokerStateMachine.open(dir);
    }
  }
  const digest = await b.digest();
  await b.close();
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return { digest, dir };
}

const SEEDS = (process.env["RAFTBUS_BROKER_SEEDS"] ?? "1,2,3").split(",").map(Number);
const STEPS = Number(process.env["RAFTBUS_BROKER_STEPS"] ?? 250);

describe("determinism: same log ⇒ byte-identical LevelDB", () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: one-by-one leader, chunked replay with restarts, one big batch, and snapshot restore agree`, async () => {
      const leader = await Harness.open();
      cleanup.push(() => leader.destroy());
      try {
        await runScenario(leader, seed, STEPS);
        const want = await leader.bsm.digest();

        const chunked = await replayChunked(leader.log, seed + 1000);
        expect(chunked.digest, `seed ${seed}: chunked replay`).toBe(want);

        const big = await fresh();
        await big.apply(leader.log);
        expect(await big.digest(), `seed ${seed}: single batch`).toBe(want);

        // Snapshot midway, restore elsewhere, apply the rest.
        const mid = Math.floor(leader.log.length / 2);
        const half = await fresh();
        await half.apply(leader.log.slice(0, mid));
        const restored = await fresh();
        await restored.apply(leader.log.slice(0, 3)); // some state to be replaced
        await restored.restore({ index: mid, term: 1, conf: { voters: [], learners: [] } }, half.snapshot());
        expect(restored.appliedIndex()).toBe(mid);
        await restored.apply(leader.log.slice(mid));
        expect(await restored.digest(), `seed ${seed}: snapshot + rest`).toBe(want);

        // Query answers agree as well (caches rebuilt from disk equal live caches).
        expect(await restored.stats()).toEqual(await leader.bsm.stats());
        expect(await restored.listSubscriptions()).toEqual(await leader.bsm.listSubscriptions());
      } catch (err) {
        console.error(`determinism failure: replay with RAFTBUS_BROKER_SEEDS=${seed} RAFTBUS_BROKER_STEPS=${STEPS}`);
        throw err;
      }
    });
  }

  it("a snapshot whose metadata names another index is refused, the old state stays", async () => {
    const a = await fresh();
    const h = await Harness.open();
    cleanup.push(() => h.destroy());
    await h.pub("t", 1);
    await a.apply(h.log);
    const b = await fresh();
    const before = await b.digest();
    await expect(b.restore({ index: 7, term: 1, conf: { voters: [], learners: [] } }, a.snapshot())).rejects.toThrow(/index 1/);
    expect(await b.digest()).toBe(before);
  });

  it("a snapshot describes the state when snapshot() was called, even if apply() runs meanwhile", async () => {
    const h = await Harness.open();
    cleanup.push(() => h.destroy());
    await h.pub("t", 1);
    const chunks = h.bsm.snapshot();
    const at = h.bsm.appliedIndex();
    await h.pub("t", 2);
    const b = await fresh();
    await b.restore({ index: at, term: 1, conf: { voters: [], learners: [] } }, chunks);
    expect((await b.topicInfo("t")).count).toBe(1);
  });
});

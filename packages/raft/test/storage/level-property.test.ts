/**
 * Property: any sequence of valid writes, compactions, snapshot installs and
 * restarts leaves LevelStorage observably equal to MemoryStorage (the model).
 * Operations are generated as raw numbers and interpreted against the
 * model's current state, so every generated sequence is valid. fast-check
 * prints the seed and path of a failure; replay with RAFTBUS_SEED=<seed>.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { StorageUpdate } from "../../src/core/storage.ts";
import type { ConfState, Entry, HardState } from "../../src/core/types.ts";
import { LevelStorage } from "../../src/storage/level-storage.ts";
import { MemoryStorage } from "../../src/storage/memory-storage.ts";
import { MemoryAdapter, TempDirs, dump, entry } from "./helpers.ts";

const dirs = new TempDirs();
afterAll(() => dirs.cleanup());

/** A raw operation: numbers in fixed ranges, mapped onto valid arguments by `interpret`. */
type RawOp =
  | { kind: "append"; at: number; count: number; bumps: number[]; hs: boolean }
  | { kind: "compact"; at: number; keep: number }
  | { kind: "install"; ahead: number; bump: number; tail: number; conf: number }
  | { kind: "hardState"; bump: number; vote: number; commit: number }
  | { kind: "restart" };

const pct = fc.integer({ min: 0, max: 100 });
const rawOp: fc.Arbitrary<RawOp> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("append" as const), at: pct, count: fc.integer({ min: 1, max: 4 }), bumps: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 4, maxLength: 4 }), hs: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("compact" as const), at: pct, keep: pct }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("install" as const), ahead: fc.integer({ min: 1, max: 6 }), bump: fc.integer({ min: 0, max: 2 }), tail: fc.integer({ min: 0, max: 2 }), conf: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("hardState" as const), bump: fc.integer({ min: 0, max: 1 }), vote: fc.integer({ min: 0, max: 2 }), commit: pct }) },
  { weight: 1, arbitrary: fc.constant({ kind: "restart" as const }) },
);

/** Picks lo + round(p% of hi-lo). */
function pick(lo: number, hi: number, p: number): number {
  return lo + Math.round(((hi - lo) * p) / 100);
}

function lastTerm(m: MemoryStorage): number {
  return m.term(m.lastIndex()) ?? 0;
}

function confOf(bits: number): ConfState {
  const voters = ["a", "b", "c"].filter((_, i) => (bits >> i) & 1);
  return { voters, learners: voters.length === 3 ? [] : ["d"] };
}

/** Entries from `from` with terms starting at `term` and bumped by `bumps`. */
function run(from: number, count: number, term: number, bumps: readonly number[]): Entry[] {
  const out: Entry[] = [];
  for (let i = 0; i < count; i++) {
    term += bumps[i] ?? 0;
    out.push(entry(from + i, Math.max(term, 1), (from + i) % 5));
  }
  return out;
}

/** A hard state for the model's log as it will stand after the write: `lastIndex` bounds the commit. */
function nextHardState(m: MemoryStorage, bump: number, vote: number, commit: number, lastIndex = m.lastIndex()): HardState {
  const term = Math.max(m.getHardState().term + bump, lastTerm(m));
  return { term, vote: [null, "a", "b"][vote] ?? null, commit: pick(0, lastIndex, commit) };
}

type Step = { update: StorageUpdate } | { compact: { index: number; keep: number } } | { restart: true };

/** Maps a raw op onto a valid step given the model's state (appends never cut below the snapshot). */
function interpret(m: MemoryStorage, op: RawOp): Step {
  switch (op.kind) {
    case "append": {
      // Raft never truncates committed entries, and the loader refuses a hard
      // state committing past the log (a lost tail): appends start above commit.
      const from = pick(Math.max(m.firstIndex(), m.snapshot().index + 1, m.getHardState().commit + 1), m.lastIndex() + 1, op.at);
      const es = run(from, op.count, m.term(from - 1) ?? 0, op.bumps);
      // The commit is bounded by the log as the append leaves it (an append may shorten it).
      const hs = op.hs ? nextHardState(m, 0, 1, 50, from + op.count - 1) : undefined;
      return { update: { entries: es, ...(hs ? { hardState: hs } : {}) } };
    }
    case "compact":
      return { compact: { index: pick(m.snapshot().index, m.lastIndex(), op.at), keep: pick(0, m.lastIndex() + 2, op.keep) } };
    case "install": {
      // A snapshot is installed only beyond what is committed (etcd's restore rule).
      const index = Math.max(m.snapshot().index + op.ahead, m.getHardState().commit);
      const term = Math.max(lastTerm(m), 1) + op.bump;
      const snapshot = { index, term, conf: confOf(op.conf) };
      return { update: { snapshot, entries: run(index + 1, op.tail, term, [0, 1, 0]) } };
    }
    case "hardState":
      return { update: { entries: [], hardState: nextHardState(m, op.bump, op.vote, op.commit) } };
    case "restart":
      return { restart: true };
  }
}

async function applyStep(model: MemoryStorage, level: LevelStorage, step: Step): Promise<LevelStorage> {
  if ("restart" in step) {
    await level.close();
    return LevelStorage.open(level.dir, { nodeId: "n1" });
  }
  if ("compact" in step) {
    const { index, keep } = step.compact;
    const meta = { index, term: model.term(index)!, conf: model.snapshot().conf };
    model.compact(meta, keep);
    await level.compact(meta, keep);
    return level;
  }
  model.write(step.update);
  await level.write(step.update, { sync: false });
  return level;
}

describe("LevelStorage ≡ MemoryStorage (model-based property)", () => {
  it("random write/compact/install/restart sequences agree after every step and after a final restart", async () => {
    const seed = process.env["RAFTBUS_SEED"] === undefined ? undefined : Number(process.env["RAFTBUS_SEED"]);
    await fc.assert(
      fc.asyncProperty(fc.array(rawOp, { minLength: 1, maxLength: 30 }), async (ops) => {
        const conf = confOf(7);
        const model = new MemoryStorage(conf);
        let level = await LevelStorage.open(await dirs.make(), { nodeId: "n1", bootstrap: conf });
        try {
          for (const op of ops) {
            level = await applyStep(model, level, interpret(model, op));
            expect(dump(level)).toEqual(dump(new MemoryAdapter(model)));
          }
          level = await applyStep(model, level, { restart: true });
          expect(dump(level)).toEqual(dump(new MemoryAdapter(model)));
        } finally {
          await level.close();
          await dirs.cleanup();
        }
      }),
      { numRuns: 40, ...(seed === undefined ? {} : { seed }) },
    );
  });
});

/**
 * The simulator's disk and clocks behave as documented: LevelStorage on a
 * SimDisk passes the storage conformance suite (a restart being a process
 * crash and a reopen), a power cut keeps exactly what was fsync'd (and a
 * prefix of the rest), a process crash keeps what the OS had and reopening
 * makes it durable, a corrupt read is refused by LevelStorage and gone on
 * the next clean reopen, writes complete in call order, and a dead node's
 * timers never fire.
 */
import { afterEach, describe, expect, it } from "vitest";
import { SeededRand } from "../../src/core/rand.ts";
import { LevelStorage } from "../../src/storage/level-storage.ts";
import { storageConformance } from "../storage/conformance.ts";
import { dump, entries } from "../storage/helpers.ts";
import type { DiskProfile } from "./sim-disk.ts";
import { SimDisk } from "./sim-disk.ts";
import { drainMicrotasks, NodeClock, VirtualTime } from "./virtual-time.ts";

const SLOW: DiskProfile = { writeMs: 3, syncMs: 7, stallChance: 0, stallMs: 0 };

/** A disk with a node clock, and virtual time that runs by itself while a test awaits. */
class Rig {
  readonly time = new VirtualTime();
  clock = new NodeClock(this.time, 1, 0);
  readonly disk: SimDisk;
  private running = true;

  constructor(seed = 1, profile = SLOW) {
    this.disk = new SimDisk("d", new SeededRand(seed), profile);
    void this.pump();
  }

  private async pump(): Promise<void> {
    // runFor() with nothing due never yields to the event loop: drain between steps, or
    // the loop would starve the test it serves.
    while (this.running) {
      await this.time.runFor(1);
      await drainMicrotasks();
    }
  }

  open(): Promise<LevelStorage> {
    return LevelStorage.openDb(this.disk.open(this.clock), "sim", { nodeId: "n1" });
  }

  /** The process dies; a new one (new clock) reopens the disk. */
  async restart(kind: "process" | "power"): Promise<LevelStorage> {
    this.clock.kill();
    this.disk.crash(kind);
    this.clock = new NodeClock(this.time, 1, 0);
    return this.open();
  }

  stop(): void {
    this.running = false;
  }
}

const rigs: Rig[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) r.stop();
});

function rig(seed = 1, profile = SLOW): Rig {
  const r = new Rig(seed, profile);
  rigs.push(r);
  return r;
}

const byStorage = new WeakMap<LevelStorage, Rig>();
storageConformance("LevelStorage on the simulator's disk", () => ({
  create: async (bootstrap) => {
    const r = rig();
    const s = await LevelStorage.openDb(r.disk.open(r.clock), "sim", { nodeId: "n1", ...(bootstrap ? { bootstrap } : {}) });
    byStorage.set(s, r);
    return s;
  },
  restart: async (s) => {
    const r = byStorage.get(s as LevelStorage)!;
    const again = await r.restart("process");
    byStorage.set(again, r);
    return again;
  },
  cleanup: async () => {},
}));

describe("SimDisk: what survives a crash", () => {
  it("a power cut keeps every fsync'd write; unsynced ones after it are lost or kept as a prefix", async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const r = rig(seed);
      const s = await r.open();
      await s.write({ entries: entries(1, [1, 1, 1]), hardState: { term: 1, vote: "n2", commit: 0 } }, { sync: true });
      await s.write({ entries: [], hardState: { term: 1, vote: "n2", commit: 2 } }, { sync: false });
      await s.write({ entries: [], hardState: { term: 1, vote: "n2", commit: 3 } }, { sync: false });
      const after = await r.restart("power");
      expect(after.lastIndex(), `seed ${seed}`).toBe(3);
      expect(after.getHardState().vote).toBe("n2");
      expect([0, 2, 3], `seed ${seed}: a prefix of the unsynced commits`).toContain(after.getHardState().commit);
    }
  });

  it("the durable image holds what was fsync'd, and a process crash keeps what the OS had; reopening syncs it", async () => {
    const r = rig();
    const s = await r.open();
    await s.write({ entries: entries(1, [1]), hardState: { term: 1, vote: null, commit: 0 } }, { sync: true });
    const synced = r.disk.durableVersion;
    await s.write({ entries: [], hardState: { term: 1, vote: null, commit: 1 } }, { sync: false });
    expect(r.disk.durableVersion, "an unsynced write is not durable").toBe(synced);
    const after = await r.restart("process");
    expect(after.getHardState().commit).toBe(1);
    expect(r.disk.durableVersion, "the reopen made it durable").toBeGreaterThan(synced);
    const again = await r.restart("power");
    expect(again.getHardState().commit).toBe(1);
  });

  it("a corrupt read is refused with STORAGE_CORRUPT, and the next clean reopen reads the disk intact", async () => {
    const r = rig(3);
    const s = await r.open();
    await s.write({ entries: entries(1, [1, 1]), hardState: { term: 1, vote: "n1", commit: 1 } }, { sync: true });
    const before = dump(s);
    r.clock.kill();
    r.disk.crash("process");
    r.clock = new NodeClock(r.time, 1, 0);
    r.disk.corruptNextOpen = true;
    await expect(r.open()).rejects.toMatchObject({ code: "STORAGE_CORRUPT" });
    expect(r.disk.lastOpenCorrupt).toBe(true);
    const clean = await r.open();
    expect(dump(clean)).toEqual(before);
  });

  it("writes complete in call order, whatever each one's latency", async () => {
    const r = rig(5, { writeMs: 20, syncMs: 1, stallChance: 0, stallMs: 0 });
    const db = r.disk.open(r.clock);
    await db.open();
    const done: number[] = [];
    await Promise.all([0, 1, 2, 3, 4].map((i) =>
      db.batch([{ type: "put", key: Uint8Array.of(i), value: Uint8Array.of(i) }], { sync: i % 2 === 1 } as object).then(() => done.push(i))));
    expect(done).toEqual([0, 1, 2, 3, 4]);
  });
});

describe("virtual time", () => {
  it("a node clock runs at its rate from its offset; a dead node's timers never fire", async () => {
    const time = new VirtualTime();
    const fast = new NodeClock(time, 2, 1000);
    const fired: string[] = [];
    fast.setTimeout(() => fired.push("fast 100"), 100); // 50 ms of true time
    const dead = new NodeClock(time, 1, 0);
    dead.setTimeout(() => fired.push("dead"), 10);
    const ticker = fast.setInterval(() => fired.push(`tick ${fast.now()}`), 40);
    dead.kill();
    await time.runFor(45);
    fast.clearInterval(ticker);
    await time.runFor(100);
    // Ticks every 40 ms of its time = 20 ms of true time; the timeout after 50 ms of true time.
    expect(fired).toEqual(["tick 1040", "tick 1080", "fast 100"]);
    expect(fast.now()).toBe(1000 + 2 * 145);
  });
});

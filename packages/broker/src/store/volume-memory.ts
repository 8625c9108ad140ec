/**
 * The broker's volume in memory (memory-level): the in-memory backend of
 * the store, for tests that want no directories. Nothing survives the
 * process; within it, a BrokerStateMachine reopened on the same volume finds
 * its state again, like a restart on disk.
 */
import { MemoryLevel } from "memory-level";
import type { BinaryDb, StoreVolume } from "./volume.ts";
import { CHECKED_VALUES } from "./checksum.ts";

/** Generations as memory-level databases. */
export class MemoryVolume implements StoreVolume {
  readonly label = "memory";
  private current: number | undefined;
  private readonly dbs = new Map<number, BinaryDb>();

  /** {@inheritDoc StoreVolume.readCurrent} */
  async readCurrent(): Promise<number | undefined> {
    return this.current;
  }

  /** {@inheritDoc StoreVolume.writeCurrent} */
  async writeCurrent(generation: number): Promise<void> {
    this.current = generation;
  }

  /** {@inheritDoc StoreVolume.generations} */
  async generations(): Promise<number[]> {
    return [...this.dbs.keys()];
  }

  /** {@inheritDoc StoreVolume.open} Reopening a closed generation finds its data. */
  async open(generation: number): Promise<BinaryDb> {
    let db = this.dbs.get(generation);
    if (db === undefined) {
      db = new MemoryLevel<Uint8Array, Uint8Array>({ storeEncoding: "view", keyEncoding: "view", valueEncoding: CHECKED_VALUES });
      this.dbs.set(generation, db);
    }
    if (db.status !== "open") await db.open();
    return db;
  }

  /** {@inheritDoc StoreVolume.remove} */
  async remove(generation: number): Promise<void> {
    const db = this.dbs.get(generation);
    this.dbs.delete(generation);
    if (db !== undefined && db.status === "open") await db.close();
  }
}

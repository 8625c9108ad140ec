/**
 * Where the broker's databases live (abstract-level's pattern: one interface,
 * several backends, one conformance suite). A volume holds numbered
 * generations of the state database and a durable pointer (CURRENT) naming
 * the live one; a snapshot restore loads a new generation and then moves the
 * pointer, so a crash at any moment leaves a complete state live.
 *
 * Backends: DirectoryVolume (LevelDB directories on disk, production) and
 * MemoryVolume (memory-level, for tests); the simulator passes its own
 * hostile-disk volume.
 */
import type { AbstractBatchOptions, AbstractLevel } from "abstract-level";

/** A LevelDB-API database with binary keys and values, of any abstract-level backend. */
export type BinaryDb = AbstractLevel<string | Uint8Array, Uint8Array, Uint8Array>;

/** The generations of the broker's state database and the pointer to the live one. */
export interface StoreVolume {
  /** Names the volume in messages (a directory path, or "memory"). */
  readonly label: string;
  /** The generation CURRENT names; undefined on a fresh volume (created if missing). */
  readCurrent(): Promise<number | undefined>;
  /** Atomically and durably points CURRENT at `generation`. */
  writeCurrent(generation: number): Promise<void>;
  /** Every generation that has a database: the live one and leftovers of interrupted restores. */
  generations(): Promise<number[]>;
  /** Opens (creating if missing) the database of `generation`. */
  open(generation: number): Promise<BinaryDb>;
  /** Deletes the database of `generation`; the caller closed it first. */
  remove(generation: number): Promise<void>;
}

/** Options of a batch write: abstract-level's plus classic-level's `sync` (fsync before resolving). */
export type SyncOption = AbstractBatchOptions<Uint8Array, Uint8Array> & { readonly sync: boolean };

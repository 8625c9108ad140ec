/**
 * The state digest that `cluster status` compares across replicas (SPEC §5).
 *
 * It is defined PER APPLIED ENTRY, never per apply() call (replicas batch
 * entries into apply() calls differently): after entry i,
 *
 *   digest_i = SHA-256(digest_{i-1} ‖ u64 i ‖ u64 term ‖ type ‖ u32 |data| ‖ data ‖ msgpack(result_i))
 *
 * where result_i is what applying the entry returned (offsets assigned,
 * duplicates found, errors…: a function of the state before the entry). It
 * lives in the meta record, written in the same batch as the applied index,
 * so a snapshot carries it and a restart resumes it. Two replicas with the
 * same digest at the same index applied the same entries and got the same
 * results from their states at every step. It is no full-state hash (that
 * would cost a scan of the database per status call); the determinism tests
 * check byte-identical databases.
 */
import { createHash } from "node:crypto";
import { pack } from "../msgpack.ts";
import type { Entry } from "../raft-api.ts";
import { assert } from "../raft-api.ts";

/** Bytes of a digest (SHA-256). */
export const DIGEST_BYTES = 32;
/** The digest before the first entry. */
export const ZERO_DIGEST: Uint8Array = new Uint8Array(DIGEST_BYTES);
/** Recent digests a node remembers, so replicas a little apart can still be compared at one index. */
export const DIGEST_HISTORY_MAX = 10_000;

const TYPE_CODES: Readonly<Record<Entry["type"], number>> = { normal: 1, noop: 2, conf: 3 };

/** digest_i from digest_{i-1}, the entry and its apply result (see the module comment). */
export function chainDigest(prev: Uint8Array, entry: Entry, result: unknown): Uint8Array {
  assert(prev.byteLength === DIGEST_BYTES, "a state digest is 32 bytes");
  const head = Buffer.alloc(21);
  head.writeBigUInt64BE(BigInt(entry.index), 0);
  head.writeBigUInt64BE(BigInt(entry.term), 8);
  head.writeUInt8(TYPE_CODES[entry.type], 16);
  head.writeUInt32BE(entry.data.byteLength, 17);
  const hash = createHash("sha256").update(prev).update(head).update(entry.data);
  if (result !== undefined) hash.update(pack(result));
  return hash.digest();
}

/** The last DIGEST_HISTORY_MAX (index, digest) pairs, oldest dropped first. */
export class DigestHistory {
  private readonly byIndex = new Map<number, Uint8Array>();

  constructor(private readonly max = DIGEST_HISTORY_MAX) {}

  /** Records the digest after entry `index` (indexes only grow, except after reset()). */
  add(index: number, digest: Uint8Array): void {
    this.byIndex.set(index, digest);
    while (this.byIndex.size > this.max) {
      const oldest = this.byIndex.keys().next().value as number;
      this.byIndex.delete(oldest);
    }
  }

  /** The digest after entry `index`, hex, when still remembered. */
  at(index: number): string | undefined {
    const d = this.byIndex.get(index);
    return d === undefined ? undefined : Buffer.from(d).toString("hex");
  }

  /** Forgets everything (a restore replaced the state). */
  reset(): void {
    this.byIndex.clear();
  }
}

/**
 * The broker's snapshot stream format. The stream is a BYTE stream: the
 * StateMachine contract lets the snapshot store and the peer transport cut
 * it anywhere (a transport chunk may end in the middle of a record and hold
 * the ends of two others), so the format frames itself:
 *
 *   stream  = record(header) ‖ record(pairs)* ‖ record(trailer)
 *   record  = u32be length ‖ msgpack value (length bytes)
 *   header  = { format: "raftbus-broker-snapshot", version: 2 }
 *   pairs   = [k0, v0, k1, v1, …]   (binary keys and values in key order)
 *   trailer = { end: true, pairs: <count>, sha256: <hex over every pairs record's bytes> }
 *
 * The trailer is what tells a complete stream from a truncated one, and its
 * hash catches damage the file and wire checksums could not see (e.g. a bug
 * on the sending side). Version 1 (one msgpack value per chunk, no framing)
 * could not survive re-chunking and is not read.
 */
import { createHash } from "node:crypto";
import type { Hash } from "node:crypto";
import { pack, unpack } from "../msgpack.ts";

/** First record of every snapshot stream. */
export const SNAPSHOT_FORMAT = "raftbus-broker-snapshot";
/** Version of the snapshot stream format (2: length-framed records and a trailer). */
export const SNAPSHOT_VERSION = 2;
/** Bytes of a record's length prefix. */
const LENGTH_BYTES = 4;
/**
 * Largest record accepted. Writers cut pair records near SNAPSHOT_CHUNK_BYTES
 * (256 KiB) but one pair may carry a whole message (payload ≤ 1 MiB by
 * default, configurable): the bound only stops a damaged length from making
 * the reader buffer gigabytes.
 */
export const SNAPSHOT_RECORD_BYTES_MAX = 64 * 1024 * 1024;

/** A snapshot stream that cannot be restored (stable code SNAPSHOT_INVALID). */
export class SnapshotFormatError extends Error {
  override readonly name = "SnapshotFormatError";
  /** Stable code. */
  readonly code = "SNAPSHOT_INVALID";

  /** `what` says what is wrong with the stream. */
  constructor(what: string) {
    super(`broker snapshot is not restorable: ${what}`);
  }
}

/** Frames `value` as one record. */
export function encodeRecord(value: unknown): Uint8Array {
  const body = pack(value);
  const out = new Uint8Array(LENGTH_BYTES + body.byteLength);
  new DataView(out.buffer).setUint32(0, body.byteLength);
  out.set(body, LENGTH_BYTES);
  return out;
}

/** Writes a snapshot stream record by record, keeping the trailer's count and hash. */
export class SnapshotEncoder {
  private pairs = 0;
  private readonly hash: Hash = createHash("sha256");

  /** The header record. */
  header(): Uint8Array {
    return encodeRecord({ format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION });
  }

  /** One record of `[k0, v0, k1, v1, …]`. */
  pairsRecord(flat: readonly Uint8Array[]): Uint8Array {
    const rec = encodeRecord(flat);
    this.pairs += flat.length / 2;
    this.hash.update(rec);
    return rec;
  }

  /** The trailer record; the encoder cannot be used afterwards. */
  trailer(): Uint8Array {
    return encodeRecord({ end: true, pairs: this.pairs, sha256: this.hash.digest("hex") });
  }
}

/**
 * Splits a byte stream into records whatever the chunk boundaries: bytes of
 * an unfinished record wait (bounded by SNAPSHOT_RECORD_BYTES_MAX) until the
 * chunks that complete it arrive.
 */
export class RecordReader {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Length of the record being assembled, once its prefix is complete. */
  private need: number | undefined;

  /** Adds `chunk`; returns the records it completed, as raw record bytes (prefix included). */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (chunk.byteLength > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.byteLength;
    }
    for (;;) {
      if (this.need === undefined) {
        if (this.pendingBytes < LENGTH_BYTES) return out;
        const prefix = this.peek(LENGTH_BYTES);
        const length = new DataView(prefix.buffer, prefix.byteOffset, LENGTH_BYTES).getUint32(0);
        if (length > SNAPSHOT_RECORD_BYTES_MAX) {
          throw new SnapshotFormatError(`record of ${length} bytes exceeds ${SNAPSHOT_RECORD_BYTES_MAX} (damaged length or not a version ${SNAPSHOT_VERSION} stream)`);
        }
        this.need = LENGTH_BYTES + length;
      }
      if (this.pendingBytes < this.need) return out;
      out.push(this.take(this.need));
      this.need = undefined;
    }
  }

  /** Throws unless the stream ended on a record boundary. */
  finish(): void {
    if (this.pendingBytes > 0) throw new SnapshotFormatError(`stream ends inside a record (${this.pendingBytes} bytes left over)`);
  }

  private peek(n: number): Uint8Array {
    const first = this.pending[0];
    if (first !== undefined && first.byteLength >= n) return first.subarray(0, n);
    return this.gather(n, false);
  }

  private take(n: number): Uint8Array {
    const first = this.pending[0];
    if (first !== undefined && first.byteLength >= n) {
      // Fast path: no copy when one chunk holds the whole record.
      if (first.byteLength === n) this.pending.shift();
      else this.pending[0] = first.subarray(n);
      this.pendingBytes -= n;
      return first.subarray(0, n);
    }
    return this.gather(n, true);
  }

  /** Copies the first `n` pending bytes into one array, consuming them when `consume`. */
  private gather(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    let i = 0;
    while (filled < n) {
      const piece = this.pending[i] as Uint8Array;
      const take = Math.min(piece.byteLength, n - filled);
      out.set(piece.subarray(0, take), filled);
      filled += take;
      if (!consume) {
        i++;
      } else if (take === piece.byteLength) {
        this.pending.shift();
      } else {
        this.pending[0] = piece.subarray(take);
      }
    }
    if (consume) this.pendingBytes -= n;
    return out;
  }
}

/** The decoded value of one raw record. */
function recordValue(raw: Uint8Array): unknown {
  try {
    return unpack(raw.subarray(LENGTH_BYTES));
  } catch (err) {
    throw new SnapshotFormatError(`a record is not valid msgpack: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function isRecordObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Decodes a whole snapshot stream, calling `onPairs` with each pairs record
 * (keys and values copied out of the stream's buffers) and checking header,
 * order of records, the trailer's count and hash, and that nothing follows
 * it. Throws SnapshotFormatError on any problem; `onPairs` may have run for
 * the records before the problem, so a caller that writes must discard them.
 */
export async function decodeSnapshot(
  chunks: AsyncIterable<Uint8Array>,
  onPairs: (pairs: readonly [Uint8Array, Uint8Array][]) => Promise<void>,
): Promise<{ readonly pairs: number }> {
  const reader = new RecordReader();
  const hash = createHash("sha256");
  let stage: "header" | "body" | "ended" = "header";
  let pairs = 0;
  for await (const chunk of chunks) {
    for (const raw of reader.push(chunk)) {
      const value = recordValue(raw);
      if (stage === "header") {
        if (!isRecordObject(value) || value["format"] !== SNAPSHOT_FORMAT) throw new SnapshotFormatError("the stream does not start with a broker snapshot header");
        if (value["version"] !== SNAPSHOT_VERSION) throw new SnapshotFormatError(`version ${String(value["version"])}; this node reads version ${SNAPSHOT_VERSION}`);
        stage = "body";
      } else if (stage === "ended") {
        throw new SnapshotFormatError("data after the trailer");
      } else if (Array.isArray(value)) {
        hash.update(raw);
        pairs += value.length / 2;
        await onPairs(toPairs(value));
      } else {
        checkTrailer(value, pairs, hash.digest("hex"));
        stage = "ended";
      }
    }
  }
  reader.finish();
  if (stage !== "ended") throw new SnapshotFormatError(stage === "header" ? "empty stream" : "the stream ends without its trailer (truncated)");
  return { pairs };
}

function toPairs(flat: unknown[]): [Uint8Array, Uint8Array][] {
  if (flat.length % 2 !== 0) throw new SnapshotFormatError("a pairs record has an odd number of items");
  const out: [Uint8Array, Uint8Array][] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const k = flat[i];
    const v = flat[i + 1];
    if (!(k instanceof Uint8Array) || !(v instanceof Uint8Array)) throw new SnapshotFormatError("a key or value is not binary");
    // Copies: the decoded views may share the stream's buffers.
    out.push([Uint8Array.from(k), Uint8Array.from(v)]);
  }
  return out;
}

function checkTrailer(value: unknown, pairs: number, sha256: string): void {
  if (!isRecordObject(value) || value["end"] !== true) throw new SnapshotFormatError("a record is neither pairs nor the trailer");
  if (value["pairs"] !== pairs) throw new SnapshotFormatError(`the trailer counts ${String(value["pairs"])} pairs, the stream holds ${pairs}`);
  if (value["sha256"] !== sha256) throw new SnapshotFormatError("the trailer's SHA-256 does not match the data (damaged in storage or transit)");
}

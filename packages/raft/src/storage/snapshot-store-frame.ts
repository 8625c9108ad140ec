/**
 * The snapshot file format: a magic, then frames, each checked by a CRC.
 *
 *   "RBSNAP01" ‖ META ‖ DATA* ‖ END
 *   frame = u8 kind ‖ u32be length ‖ u32be crc32(kind ‖ length ‖ payload) ‖ payload
 *
 * META carries the SnapshotMeta (msgpack), DATA one chunk, END the chunk
 * and byte counts (msgpack). END is what tells a complete file from a
 * truncated one; the counts catch a dropped frame.
 */
import type { FileHandle } from "node:fs/promises";
import { assert } from "../core/assert.ts";
import type { SnapshotMeta } from "../core/types.ts";
import { crc32 } from "./checksum.ts";
import { StorageCorruptError } from "./errors.ts";
import { isSnapshotMeta, packValue, snapshotRecord, unpackValue } from "./level-codec.ts";

/** Identifies a raftbus snapshot file, format 1. */
export const MAGIC: Uint8Array = new TextEncoder().encode("RBSNAP01");
/** Bytes before a frame's payload. */
export const FRAME_HEADER_BYTES = 9;
/** Upper bound of a META or END payload: metadata is small; anything bigger is damage. */
const META_BYTES_MAX = 1024 * 1024;

/** Frame kinds (the first byte of a frame). */
export const FrameKind = { Meta: 1, Data: 2, End: 3 } as const;
/** One of the FrameKind values. */
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

function isFrameKind(k: number): k is FrameKind {
  return k === FrameKind.Meta || k === FrameKind.Data || k === FrameKind.End;
}

/** One verified frame. */
export interface Frame {
  readonly kind: FrameKind;
  readonly payload: Uint8Array;
}

/** What END records, checked against what was read. */
export interface Trailer {
  readonly chunks: number;
  readonly bytes: number;
}

/** Encodes one frame. */
export function encodeFrame(kind: FrameKind, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, kind);
  view.setUint32(1, payload.length);
  view.setUint32(5, crc32(payload, crc32(out.subarray(0, 5))));
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** The META frame's payload for `meta`. */
export function metaPayload(meta: SnapshotMeta): Uint8Array {
  return packValue(snapshotRecord(meta));
}

/** The END frame's payload. */
export function trailerPayload(t: Trailer): Uint8Array {
  return packValue({ chunks: t.chunks, bytes: t.bytes });
}

/** Decodes and validates a META payload read from `where`. */
export function decodeMeta(payload: Uint8Array, where: string): SnapshotMeta {
  const v = unpackValue(payload, where);
  if (!isSnapshotMeta(v)) throw new StorageCorruptError(where, "META frame is not snapshot metadata");
  return v;
}

/** Decodes and validates an END payload read from `where`. */
export function decodeTrailer(payload: Uint8Array, where: string): Trailer {
  const v = unpackValue(payload, where);
  if (typeof v !== "object" || v === null) throw new StorageCorruptError(where, "END frame is not a trailer");
  const { chunks, bytes } = v as Record<string, unknown>;
  if (!Number.isSafeInteger(chunks) || !Number.isSafeInteger(bytes)) {
    throw new StorageCorruptError(where, "END frame has no chunk and byte counts");
  }
  return { chunks: chunks as number, bytes: bytes as number };
}

/**
 * Reads frames sequentially from a file, verifying each. Allocations are
 * bounded by `chunkBytesMax` (DATA) and META_BYTES_MAX (others), so a
 * damaged length field cannot make it allocate gigabytes.
 */
export class FrameReader {
  /** File offset just after the last frame read successfully. */
  position = 0;

  /** `where` names the file in error messages. */
  constructor(private readonly handle: FileHandle, private readonly where: string, private readonly chunkBytesMax: number) {}

  /** Verifies the magic at the start of the file. */
  async readMagic(): Promise<void> {
    const got = await this.readExactly(MAGIC.length, "magic");
    if (!MAGIC.every((b, i) => got[i] === b)) throw this.corrupt("not a raftbus snapshot file (bad magic)");
    this.position = MAGIC.length;
  }

  /** The next frame, or undefined at a clean end of file. */
  async next(): Promise<Frame | undefined> {
    const header = await this.readUpTo(FRAME_HEADER_BYTES, this.position);
    if (header.length === 0) return undefined;
    if (header.length < FRAME_HEADER_BYTES) throw this.corrupt("truncated frame header");
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    const kind = view.getUint8(0);
    const length = view.getUint32(1);
    if (!isFrameKind(kind)) throw this.corrupt(`unknown frame kind ${kind}`);
    const max = kind === FrameKind.Data ? this.chunkBytesMax : META_BYTES_MAX;
    if (length > max) throw this.corrupt(`frame length ${length} exceeds the ${max}-byte limit`);
    const payload = await this.readExactly(length, "frame payload", this.position + FRAME_HEADER_BYTES);
    if (crc32(payload, crc32(header.subarray(0, 5))) !== view.getUint32(5)) throw this.corrupt("checksum mismatch");
    this.position += FRAME_HEADER_BYTES + length;
    return { kind, payload };
  }

  /** A StorageCorruptError naming the file and the current offset. */
  corrupt(what: string): StorageCorruptError {
    return new StorageCorruptError(`${this.where} offset ${this.position}`, what);
  }

  private async readExactly(n: number, what: string, at = this.position): Promise<Uint8Array> {
    const got = await this.readUpTo(n, at);
    if (got.length < n) throw this.corrupt(`truncated ${what}: ${got.length} of ${n} bytes`);
    return got;
  }

  private async readUpTo(n: number, at: number): Promise<Uint8Array> {
    const buf = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const { bytesRead } = await this.handle.read(buf, filled, n - filled, at + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buf.subarray(0, filled);
  }
}

/** Appends frames to a file opened for writing, tracking counts for the END frame. */
export class FrameWriter {
  /** DATA frames written. */
  chunks = 0;
  /** Data bytes written. */
  bytes = 0;

  /** Starts writing at `position` (after existing valid frames when resuming). */
  constructor(private readonly handle: FileHandle, private position: number) {}

  /** Writes the magic and META frame of a new file (position must be 0). */
  async begin(meta: SnapshotMeta): Promise<void> {
    assert(this.position === 0, "begin() on a non-empty snapshot file");
    await this.append(MAGIC);
    await this.append(encodeFrame(FrameKind.Meta, metaPayload(meta)));
  }

  /** Writes one DATA frame (the caller splits to chunkBytesMax). */
  async data(chunk: Uint8Array): Promise<void> {
    await this.append(encodeFrame(FrameKind.Data, chunk));
    this.chunks++;
    this.bytes += chunk.length;
  }

  /** Writes the END frame and fsyncs the file. */
  async end(): Promise<void> {
    await this.append(encodeFrame(FrameKind.End, trailerPayload({ chunks: this.chunks, bytes: this.bytes })));
    await this.handle.sync();
  }

  private async append(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, this.position + done);
      done += bytesWritten;
    }
    this.position += bytes.length;
  }
}

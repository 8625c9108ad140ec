/**
 * Re-chunks a snapshot stream into pieces of exactly `chunkBytes` (the last
 * one shorter, possibly empty) and skips a prefix the receiver already holds.
 * Sources yield whatever sizes suit them (a LevelDB iterator batch, a file
 * read); the wire wants bounded frames.
 */
import { assert } from "../core/assert.ts";
import { SnapshotError } from "./errors.ts";

/** One outgoing chunk: bytes [offset, offset + data.length); `done` on the last. */
export interface Chunk {
  readonly offset: number;
  readonly data: Uint8Array;
  readonly done: boolean;
}

/** Pulls fixed-size chunks out of an async byte stream. */
export class ChunkReader {
  private readonly it: AsyncIterator<Uint8Array>;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private ended = false;
  private position: number;
  private skipBytes: number;

  /** Starts reading `source` at byte `startOffset` (the bytes before it are read and discarded). */
  constructor(source: AsyncIterable<Uint8Array>, private readonly chunkBytes: number, startOffset: number) {
    assert(chunkBytes > 0 && startOffset >= 0, "chunkBytes > 0 and startOffset ≥ 0");
    this.it = source[Symbol.asyncIterator]();
    this.position = startOffset;
    this.skipBytes = startOffset;
  }

  /** Offset of the next chunk. */
  get offset(): number {
    return this.position;
  }

  /**
   * The next chunk. `done` is set on the chunk that ends the stream; when the
   * stream ends on a chunk boundary that is an empty chunk. Throws if the
   * source throws or if it is shorter than the resume offset.
   */
  async next(): Promise<Chunk> {
    while (!this.ended && this.pendingBytes < this.chunkBytes) await this.pull();
    const take = Math.min(this.chunkBytes, this.pendingBytes);
    const data = this.consume(take);
    const chunk = { offset: this.position, data, done: this.ended && this.pendingBytes === 0 };
    this.position += take;
    return chunk;
  }

  /** Releases the source (stops a generator early). */
  async close(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      await this.it.return?.();
    }
  }

  private async pull(): Promise<void> {
    const r = await this.it.next();
    if (r.done === true) {
      this.ended = true;
      if (this.skipBytes > 0) throw new SnapshotError(`snapshot source ended ${this.skipBytes} bytes before the resume offset`);
      return;
    }
    let piece = r.value;
    assert(piece instanceof Uint8Array, "snapshot sources yield Uint8Array chunks");
    if (this.skipBytes > 0) {
      const drop = Math.min(this.skipBytes, piece.byteLength);
      this.skipBytes -= drop;
      piece = piece.subarray(drop);
    }
    if (piece.byteLength > 0) {
      this.pending.push(piece);
      this.pendingBytes += piece.byteLength;
    }
  }

  private consume(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    const first = this.pending[0];
    if (first !== undefined && first.byteLength >= n) {
      // Fast path: no copy when one source piece covers the chunk.
      const out = first.subarray(0, n);
      if (first.byteLength === n) this.pending.shift();
      else this.pending[0] = first.subarray(n);
      this.pendingBytes -= n;
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const piece = this.pending[0];
      assert(piece !== undefined, "chunk reader ran out of pending bytes");
      const take = Math.min(piece.byteLength, n - filled);
      out.set(piece.subarray(0, take), filled);
      filled += take;
      if (take === piece.byteLength) this.pending.shift();
      else this.pending[0] = piece.subarray(take);
    }
    this.pendingBytes -= n;
    return out;
  }
}

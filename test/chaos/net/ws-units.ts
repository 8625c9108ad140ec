/**
 * Splits one direction of a WebSocket TCP stream into the units a chaos
 * proxy may delay, reorder or drop without corrupting the stream: the HTTP
 * upgrade head, whole data messages (all frames up to FIN), and single
 * control frames. Bytes pass through unchanged; masking is left as it is.
 *
 * A Raft peer link is message-oriented, so dropping a whole WebSocket
 * message is the faithful model of packet loss on an unreliable network
 * (what Raft is designed for), whereas dropping raw TCP bytes would only
 * corrupt the stream.
 */
import assert from "node:assert/strict";

/** One piece of the stream that can be handled as a whole. */
export interface WsUnit {
  readonly kind: "head" | "data" | "control";
  /** The exact bytes of the unit (for "data", every frame of the message). */
  readonly bytes: Buffer;
}

/** A frame header longer than this is malformed (2 + 8 length + 4 mask). */
const HEADER_BYTES_MAX = 14;
/** The HTTP upgrade head is small; a longer one is not WebSocket. */
const HEAD_BYTES_MAX = 16 * 1024;
/** A message larger than the peer transport's frame limit (4 MiB) plus slack is a broken stream. */
export const MESSAGE_BYTES_MAX = 8 * 1024 * 1024;

/** Incremental splitter for one direction of one connection. */
export class WsUnitSplitter {
  private buf: Buffer = Buffer.alloc(0);
  private inHead = true;
  /** Frames of a fragmented data message seen so far (before its FIN frame). */
  private partial: Buffer[] = [];
  private partialBytes = 0;

  /** Feed bytes; returns every unit completed by them, in stream order. */
  push(chunk: Buffer): WsUnit[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: WsUnit[] = [];
    if (this.inHead && !this.takeHead(out)) return out;
    for (;;) {
      const frame = this.nextFrame();
      if (frame === undefined) return out;
      const b0 = frame[0]!;
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      if (opcode >= 0x8) {
        out.push({ kind: "control", bytes: frame });
        continue;
      }
      this.partial.push(frame);
      this.partialBytes += frame.length;
      if (this.partialBytes > MESSAGE_BYTES_MAX) throw new Error(`WebSocket message over ${MESSAGE_BYTES_MAX} bytes`);
      if (fin) {
        out.push({ kind: "data", bytes: this.partial.length === 1 ? frame : Buffer.concat(this.partial) });
        this.partial = [];
        this.partialBytes = 0;
      }
    }
  }

  private takeHead(out: WsUnit[]): boolean {
    const end = this.buf.indexOf("\r\n\r\n");
    if (end < 0) {
      if (this.buf.length > HEAD_BYTES_MAX) throw new Error("no end of the HTTP upgrade head");
      return false;
    }
    out.push({ kind: "head", bytes: this.buf.subarray(0, end + 4) });
    this.buf = this.buf.subarray(end + 4);
    this.inHead = false;
    return true;
  }

  private nextFrame(): Buffer | undefined {
    const b = this.buf;
    if (b.length < 2) return undefined;
    const masked = (b[1]! & 0x80) !== 0;
    const len7 = b[1]! & 0x7f;
    let header = 2;
    let payload: number;
    if (len7 === 126) {
      if (b.length < 4) return undefined;
      payload = b.readUInt16BE(2);
      header = 4;
    } else if (len7 === 127) {
      if (b.length < 10) return undefined;
      const big = b.readBigUInt64BE(2);
      if (big > BigInt(MESSAGE_BYTES_MAX)) throw new Error(`WebSocket frame of ${big} bytes`);
      payload = Number(big);
      header = 10;
    } else {
      payload = len7;
    }
    if (masked) header += 4;
    assert(header <= HEADER_BYTES_MAX);
    const total = header + payload;
    if (b.length < total) return undefined;
    const frame = b.subarray(0, total);
    this.buf = b.subarray(total);
    return frame;
  }
}

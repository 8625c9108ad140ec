/**
 * The bounded per-peer queue of encoded Raft frames waiting for the socket.
 * Both limits hold at all times; when either would be exceeded the newest
 * frame is refused (Raft retries, and keeping the older frames preserves
 * FIFO order for what is delivered).
 */
import { assert } from "../core/assert.ts";

/** Queue limits. */
export interface SendQueueLimits {
  readonly queueMessagesMax: number;
  readonly queueBytesMax: number;
}

/** FIFO of encoded frames bounded by count and bytes. */
export class SendQueue {
  // A ring would avoid the O(n) shift; a head index with periodic compaction
  // gives the same amortized O(1) with simpler code.
  private items: Uint8Array[] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly limits: SendQueueLimits) {}

  /** Frames queued. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Encoded bytes queued. */
  get byteLength(): number {
    return this.bytes;
  }

  /** Appends a frame; false (and nothing queued) when a limit would be exceeded. */
  push(frame: Uint8Array): boolean {
    if (this.length + 1 > this.limits.queueMessagesMax) return false;
    if (this.bytes + frame.byteLength > this.limits.queueBytesMax) return false;
    this.items.push(frame);
    this.bytes += frame.byteLength;
    return true;
  }

  /**
   * Removes frames from the front while their total stays within
   * `maxBytes` (at least one frame if any is queued and it fits).
   */
  take(maxBytes: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let total = 0;
    while (this.head < this.items.length) {
      const next = this.items[this.head];
      assert(next !== undefined, "send queue hole");
      if (total + next.byteLength > maxBytes) break;
      out.push(next);
      total += next.byteLength;
      this.head++;
    }
    this.bytes -= total;
    this.compact();
    assert(this.bytes >= 0 && (this.length > 0 || this.bytes === 0), "send queue byte count drifted");
    return out;
  }

  /** Drops everything (peer removed). Returns how many frames were dropped. */
  clear(): number {
    const n = this.length;
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    return n;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * Shared test fixtures for the transport tests: sample messages, an
 * in-memory SnapshotSink/Source that record what happened, a manual clock,
 * and a bounded wait.
 */
import type { Message, NodeId, SnapshotMessage, SnapshotMeta } from "../../src/core/types.ts";
import type { Clock, TimerHandle } from "../../src/transport/clock.ts";
import type { SnapshotSink, SnapshotSource, SnapshotWriter } from "../../src/transport/transport.ts";

/** One message of every type except `snap`, from `from` to `to`. */
export function sampleMessages(from: NodeId, to: NodeId, term = 3): Message[] {
  const base = { from, to, term };
  return [
    { ...base, type: "app", prevIndex: 7, prevTerm: 2, commit: 6, entries: [
      { index: 8, term: 3, type: "normal", data: new Uint8Array([1, 2, 3]) },
      { index: 9, term: 3, type: "noop", data: new Uint8Array(0) },
      { index: 10, term: 3, type: "conf", data: new Uint8Array([0xff]) },
    ] },
    { ...base, type: "appResp", reject: true, index: 7, hintIndex: 5, hintTerm: 2 },
    { ...base, type: "vote", lastIndex: 10, lastTerm: 3, transfer: false },
    { ...base, type: "preVote", lastIndex: 10, lastTerm: 3, transfer: true },
    { ...base, type: "voteResp", reject: false },
    { ...base, type: "preVoteResp", reject: true },
    { ...base, type: "heartbeat", commit: 10, readSeq: 4 },
    { ...base, type: "heartbeatResp", readSeq: 4 },
    { ...base, type: "timeoutNow" },
    { ...base, type: "notMember", confIndex: 9, conf: { voters: ["n1", "n2"], learners: [] } },
  ];
}

/** A heartbeat whose readSeq numbers it, for ordering checks. */
export function heartbeat(from: NodeId, to: NodeId, seq: number): Message {
  return { from, to, term: 1, type: "heartbeat", commit: 0, readSeq: seq };
}

/** Snapshot metadata for tests. */
export function meta(index = 100, term = 4): SnapshotMeta {
  return { index, term, conf: { voters: ["a", "b", "c"], learners: [] } };
}

/** A snap message. */
export function snapMessage(from: NodeId, to: NodeId, m: SnapshotMeta = meta()): SnapshotMessage {
  return { from, to, term: m.term, type: "snap", snapshot: m };
}

/** Deterministic bytes (a small LCG) so corruption is detectable. */
export function patternBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Serves `data` in pieces of `pieceBytes`; counts opens. */
export class BytesSource implements SnapshotSource {
  opens = 0;
  constructor(private readonly data: Uint8Array, private readonly pieceBytes = 100_000) {}

  async *open(_meta: SnapshotMeta): AsyncIterable<Uint8Array> {
    this.opens++;
    for (let i = 0; i < this.data.byteLength; i += this.pieceBytes) {
      yield this.data.subarray(i, Math.min(i + this.pieceBytes, this.data.byteLength));
    }
  }
}

const key = (m: SnapshotMeta): string => `${m.index}/${m.term}`;

/**
 * Keeps partial transfers across begin() calls (so resume works), records
 * every call, and lets a test hook into writes.
 */
export class MemorySink implements SnapshotSink {
  readonly committed = new Map<string, Uint8Array>();
  readonly partial = new Map<string, Uint8Array[]>();
  readonly log: string[] = [];
  writes = 0;
  bytesWritten = 0;
  largestWriteBytes = 0;
  /** Called after each write (after it is stored). */
  onWrite: (writes: number) => void | Promise<void> = () => undefined;

  async begin(m: SnapshotMeta, from: NodeId): Promise<SnapshotWriter> {
    const k = key(m);
    const parts = this.partial.get(k) ?? [];
    this.partial.set(k, parts);
    const receivedBytes = parts.reduce((n, p) => n + p.byteLength, 0);
    this.log.push(`begin ${k} from ${from} at ${receivedBytes}`);
    return {
      receivedBytes,
      write: async (chunk) => {
        parts.push(chunk.slice());
        this.writes++;
        this.bytesWritten += chunk.byteLength;
        this.largestWriteBytes = Math.max(this.largestWriteBytes, chunk.byteLength);
        await this.onWrite(this.writes);
      },
      commit: async () => {
        this.committed.set(k, new Uint8Array(Buffer.concat(parts)));
        this.partial.delete(k);
        this.log.push(`commit ${k}`);
      },
      abort: async () => {
        this.partial.delete(k);
        this.log.push(`abort ${k}`);
      },
    };
  }

  /** The committed bytes of snapshot `m`, if any. */
  get(m: SnapshotMeta): Uint8Array | undefined {
    return this.committed.get(key(m));
  }
}

/** Polls `cond` every 5 ms until true; fails after `timeoutMs` (every wait is bounded). */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A clock that moves only when told: `advance(ms)` fires due timers in order. */
export class ManualClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + delayMs, fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    const end = this.t + ms;
    for (let guard = 0; guard < 10_000; guard++) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (next === undefined || e[1].at < next[1].at)) next = e;
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}

/** A free TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function unusedPort(): Promise<number> {
  const net = await import("node:net");
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as import("node:net").AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Byte equality for large arrays (vitest's toEqual walks typed arrays element
 * by element: ~45 s for 3 MB). Reports lengths and the first difference.
 */
export function expectSameBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  if (actual === undefined) throw new Error("expected bytes, got undefined");
  if (Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength))) return;
  let i = 0;
  while (i < Math.min(actual.byteLength, expected.byteLength) && actual[i] === expected[i]) i++;
  throw new Error(`bytes differ: lengths ${actual.byteLength} vs ${expected.byteLength}, first difference at ${i}`);
}

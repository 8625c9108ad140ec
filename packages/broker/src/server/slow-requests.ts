/**
 * "slow request" warnings without a flood. Under overload every request is
 * slow, and one warn line per request is a flood that costs the node the
 * CPU it lacks: one `raftbus bench scale-10k-wildcard` run wrote 13,590 such
 * lines on its leader, one per ack. So a window (10 s by default) logs its
 * first few slow requests one by one (each with its request id, to follow
 * it through the other log lines) and counts the rest; one summary line per
 * window says how many were left out, of which kinds, and the slowest.
 */

/** One slow request, as it is logged. */
export interface SlowRequest {
  readonly requestId: string;
  readonly kind: string;
  readonly ms: number;
  readonly code: string | undefined;
  readonly client: string;
}

export interface SlowRequestLogOptions {
  /** Writes one warn line. */
  readonly warn: (fields: object, msg: string) => void;
  readonly now?: () => number;
  /** Runs `fn` after `ms` (the window's end), without holding the process open. */
  readonly later?: (fn: () => void, ms: number) => void;
  readonly windowMs?: number;
  /** Requests logged one by one per window. */
  readonly linesPerWindow?: number;
}

/** Rate-limited slow-request warnings; see the module comment. */
export class SlowRequestLog {
  private readonly warn: (fields: object, msg: string) => void;
  private readonly now: () => number;
  private readonly later: (fn: () => void, ms: number) => void;
  private readonly windowMs: number;
  private readonly linesPerWindow: number;
  private windowStart = Number.NEGATIVE_INFINITY;
  private logged = 0;
  /** Left out of this window, by request kind (kinds are the protocol's fixed set). */
  private readonly leftOut = new Map<string, number>();
  private slowestLeftOutMs = 0;
  private summaryDue = false;

  constructor(o: SlowRequestLogOptions) {
    this.warn = o.warn;
    this.now = o.now ?? (() => performance.now());
    this.later = o.later ?? ((fn, ms) => void setTimeout(fn, ms).unref());
    this.windowMs = o.windowMs ?? 10_000;
    this.linesPerWindow = o.linesPerWindow ?? 10;
  }

  note(r: SlowRequest): void {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.summarise();
      this.windowStart = t;
      this.logged = 0;
    }
    if (this.logged < this.linesPerWindow) {
      this.logged += 1;
      this.warn({ requestId: r.requestId, kind: r.kind, ms: r.ms, code: r.code, client: r.client }, "slow request");
      return;
    }
    this.leftOut.set(r.kind, (this.leftOut.get(r.kind) ?? 0) + 1);
    this.slowestLeftOutMs = Math.max(this.slowestLeftOutMs, r.ms);
    if (!this.summaryDue) {
      this.summaryDue = true;
      // A window that rolled over before the timer fired was summarised by note() already.
      const window = this.windowStart;
      this.later(() => {
        if (this.windowStart === window) this.summarise();
      }, window + this.windowMs - t);
    }
  }

  /** The summary of what this window left out, once. */
  private summarise(): void {
    if (this.leftOut.size === 0) return;
    let count = 0;
    for (const n of this.leftOut.values()) count += n;
    this.warn({ count, kinds: Object.fromEntries(this.leftOut), slowestMs: this.slowestLeftOutMs, windowMs: this.windowMs }, "more slow requests, not logged one by one");
    this.leftOut.clear();
    this.slowestLeftOutMs = 0;
    this.summaryDue = false;
  }
}

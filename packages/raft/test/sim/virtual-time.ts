/**
 * Virtual time for the simulator: one event queue for the whole cluster,
 * ordered by (time, sequence), so a run replays exactly from its seed. Each
 * node sees it through a NodeClock — the driver's Scheduler interface —
 * with its own rate and offset (clocks that run fast, slow or skewed), and
 * a crash kills the clock: every timer, deferral and disk completion the
 * dead process was waiting for simply never happens.
 *
 * After every event the queue lets the microtasks it caused run to the end,
 * as Node's event loop does after each callback: an async chain of the
 * driver (persist → send → apply → advance) is never cut by a later event
 * unless it awaits the simulated disk or network, which is exactly where a
 * real process can be interleaved too. (It waits for a process.nextTick
 * queued from inside a microtask, which Node runs only once the microtask
 * queue is empty: 0.5 µs against 3.5–9 µs for a setImmediate round trip,
 * and a seed runs some 45,000 events. Once per runUntil call it still
 * yields a real macrotask, so Node reports unhandled rejections within the step.)
 */
import type { TimerHandle } from "../../src/transport/clock.ts";
import type { Scheduler } from "../../src/node/scheduler.ts";

/** Something events belong to; a dead owner's events are skipped. */
export interface EventOwner {
  readonly dead: boolean;
}

interface SimEvent {
  readonly at: number;
  readonly seq: number;
  readonly owner: EventOwner | undefined;
  fn: (() => void) | undefined;
}

/** Most events run in one runUntil call before the run is declared stuck (a livelock). */
const EVENTS_PER_RUN_MAX = 5_000_000;

/** The one clock of a simulated cluster. Time is in milliseconds and starts at 0. */
export class VirtualTime {
  now = 0;
  /** Events run since the start (a measure of simulated work). */
  eventsRun = 0;
  private seq = 0;
  private readonly heap: SimEvent[] = [];
  /** Called after each event and its microtasks (checks that must hold at every step). */
  afterEvent: (() => void) | undefined;

  /** Runs `fn` at time `at` (never earlier than now). Returns a handle for cancel(). */
  at(at: number, fn: () => void, owner?: EventOwner): SimEvent {
    const ev: SimEvent = { at: Math.max(at, this.now), seq: this.seq++, owner, fn };
    this.push(ev);
    return ev;
  }

  /** Runs `fn` after `delayMs`. */
  after(delayMs: number, fn: () => void, owner?: EventOwner): SimEvent {
    return this.at(this.now + Math.max(0, delayMs), fn, owner);
  }

  /** Cancels an event that has not run (a no-op afterwards). */
  cancel(ev: SimEvent): void {
    ev.fn = undefined;
  }

  /** A promise that resolves after `delayMs` of virtual time (never, if `owner` dies first). */
  sleep(delayMs: number, owner?: EventOwner): Promise<void> {
    return new Promise((resolve) => this.after(delayMs, resolve, owner));
  }

  /** Events still queued (cancelled ones included). */
  get queued(): number {
    return this.heap.length;
  }

  /**
   * Runs every event due at or before `until`, in order, letting each one's
   * microtasks finish before the next; then sets now = until.
   */
  async runUntil(until: number): Promise<void> {
    for (let n = 0; ; n++) {
      if (n >= EVENTS_PER_RUN_MAX) throw new Error(`virtual time stuck at ${this.now} ms: ${n} events without reaching ${until} ms`);
      const ev = this.heap[0];
      if (ev === undefined || ev.at > until) break;
      this.pop();
      const fn = ev.fn;
      if (fn === undefined || ev.owner?.dead === true) continue;
      this.now = ev.at;
      this.eventsRun++;
      fn();
      await drainMicrotasks();
      this.afterEvent?.();
    }
    this.now = Math.max(this.now, until);
    await yieldToEventLoop();
  }

  /** Runs `ms` of virtual time. */
  runFor(ms: number): Promise<void> {
    return this.runUntil(this.now + ms);
  }

  private push(ev: SimEvent): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!before(ev, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = ev;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    const n = h.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && before(h[r]!, h[l]!) ? r : l;
      if (!before(h[m]!, last)) break;
      h[i] = h[m]!;
      i = m;
    }
    h[i] = last;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/**
 * Lets every queued microtask (and those they queue) run. A tick queued
 * from inside a microtask runs only after V8 emptied its microtask queue
 * (Node's processTicksAndRejections: ticks, then all microtasks, then ticks
 * again); the first await makes sure we are inside one. Nothing the
 * simulated code runs uses process.nextTick itself.
 */
export async function drainMicrotasks(): Promise<void> {
  await null;
  await new Promise<void>((resolve) => process.nextTick(resolve));
}

/** One macrotask round trip: Node reports unhandled rejections between macrotasks. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * One node's view of virtual time: the driver's Scheduler. Its clock runs
 * at `rate` (1 = true time) from `offsetMs`, so now() = offset + rate·t and
 * a timer of d ms fires after d / rate of true time. kill() makes it dead:
 * nothing scheduled through it runs any more.
 */
export class NodeClock implements Scheduler, EventOwner {
  dead = false;

  constructor(private readonly time: VirtualTime, readonly rate: number, readonly offsetMs: number) {}

  /** The node's reading of the time: whole ms since its epoch, like Date.now(). */
  now(): number {
    return Math.floor(this.offsetMs + this.rate * this.time.now);
  }

  /** True time after `ms` of this node's time. */
  private span(ms: number): number {
    return Math.max(0, ms) / this.rate;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    return this.time.after(this.span(delayMs), fn, this);
  }

  clearTimeout(handle: TimerHandle): void {
    this.time.cancel(handle as SimEvent);
  }

  setInterval(fn: () => void, intervalMs: number): TimerHandle {
    const timer: { ev: SimEvent | undefined } = { ev: undefined };
    const period = this.span(intervalMs);
    const arm = (at: number): void => {
      timer.ev = this.time.at(at, () => {
        arm(at + period);
        fn();
      }, this);
    };
    arm(this.time.now + period);
    return timer;
  }

  clearInterval(handle: TimerHandle): void {
    const ev = (handle as { ev: SimEvent | undefined }).ev;
    if (ev !== undefined) this.time.cancel(ev);
    (handle as { ev: SimEvent | undefined }).ev = undefined;
  }

  defer(fn: () => void): void {
    this.time.after(0, fn, this);
  }

  /** The true (virtual) time after `ms` of this node's time from now. */
  trueTimeAfter(ms: number): number {
    return this.time.now + this.span(ms);
  }

  /** Runs `fn` at true time `at` unless the node died by then. */
  at(at: number, fn: () => void): void {
    this.time.at(at, fn, this);
  }

  /** A promise resolved after `ms` of this node's time (never, if the node dies first). */
  sleep(ms: number): Promise<void> {
    return this.time.sleep(this.span(ms), this);
  }

  /** The process died: drop everything it scheduled. */
  kill(): void {
    this.dead = true;
  }
}

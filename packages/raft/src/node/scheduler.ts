/**
 * Time for the driver, injected: the product passes the real timers, the
 * simulator a virtual-time scheduler, so it can run the real RaftNode
 * deterministically (TigerBeetle's VOPR runs the real replica the same way).
 * The Raft core itself has no timers at all; this is the driver's clock.
 */
import type { Clock, TimerHandle } from "../transport/clock.ts";

/** Wall-clock time, one-shot and repeating timers, and deferral. */
export interface Scheduler extends Clock {
  /** Milliseconds since the epoch (status pages show it; stall checks subtract it). */
  now(): number;
  /** Calls `fn` every `intervalMs` until cleared. */
  setInterval(fn: () => void, intervalMs: number): TimerHandle;
  /** Cancels a timer from setInterval. */
  clearInterval(handle: TimerHandle): void;
  /** Runs `fn` soon: after the current callback and every microtask it queued (setImmediate). */
  defer(fn: () => void): void;
}

/** The real timers, unref'd so they never hold the process open. */
export const systemScheduler: Scheduler = {
  now: () => Date.now(),
  setTimeout: (fn, delayMs) => {
    const t = setTimeout(fn, delayMs);
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  setInterval: (fn, intervalMs) => {
    const t = setInterval(fn, intervalMs);
    t.unref();
    return t;
  },
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
  defer: (fn) => {
    setImmediate(fn);
  },
};

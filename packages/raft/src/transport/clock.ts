/**
 * The timers a transport uses, injected so tests can control back-off and
 * timeouts (the Raft core itself has no timers at all).
 */

/** An opaque timer handle, only ever passed back to clearTimeout. */
export type TimerHandle = unknown;

/** Wall-clock time and one-shot timers. */
export interface Clock {
  /** Milliseconds on a monotonic-enough clock. */
  now(): number;
  /** Calls `fn` once after `delayMs`. */
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  /** Cancels a timer from setTimeout; a no-op when it already fired. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock (performance.now and Node timers, unref'd so they never hold the process open). */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, delayMs) => {
    const t = setTimeout(fn, delayMs);
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Assertions that stay on in production (STYLE.md practice 3). A broken
 * invariant is a bug: it crashes loudly with context, it is never swallowed.
 */

/** Thrown when an invariant the code relies on does not hold. */
export class InvariantError extends Error {
  override readonly name = "InvariantError";
  /** Stable code, so callers can tell a bug from an expected failure. */
  readonly code = "INVARIANT_VIOLATED";
}

/** Crash with `message` (built lazily when a function) unless `condition` holds. */
export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new InvariantError(typeof message === "function" ? message() : message);
  }
}

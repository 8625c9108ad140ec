/**
 * Expected failures of the peer transport, each with a stable `code`
 * (STYLE.md practice 4). Bugs are InvariantErrors from core/assert.ts.
 *
 * | code             | meaning                                                     |
 * |------------------|-------------------------------------------------------------|
 * | `BAD_FRAME`      | bytes off the wire that are not a valid peer frame          |
 * | `INVALID_CONFIG` | a transport option out of range; thrown by the constructor  |
 * | `SNAPSHOT_FAILED`| a snapshot transfer was abandoned (passed to `onError`)     |
 */

/** Stable codes of transport errors. */
export type TransportErrorCode = "BAD_FRAME" | "INVALID_CONFIG" | "SNAPSHOT_FAILED";

/**
 * A frame failed to decode or validate. Peers' frames are untrusted: the
 * codec throws nothing else, and the transport counts and drops the frame.
 */
export class FrameError extends Error {
  override readonly name = "FrameError";
  /** Stable code. */
  readonly code = "BAD_FRAME" satisfies TransportErrorCode;
  /** Where in the frame validation failed, e.g. `msg.entries[2].data`. */
  readonly path: string;

  constructor(path: string, reason: string) {
    super(`bad frame: ${path}: ${reason}`);
    this.path = path;
  }
}

/** A transport option is out of range (validated once, at construction). */
export class TransportConfigError extends Error {
  override readonly name = "TransportConfigError";
  /** Stable code. */
  readonly code = "INVALID_CONFIG" satisfies TransportErrorCode;
}

/**
 * A snapshot transfer failed: the source or sink threw, the receiver gave up,
 * or no progress within snapshotTimeoutMs. Reported through the `onError`
 * option; the core learns of it via onSnapshotStatus(to, false).
 */
export class SnapshotError extends Error {
  override readonly name = "SnapshotError";
  /** Stable code. */
  readonly code = "SNAPSHOT_FAILED" satisfies TransportErrorCode;
}

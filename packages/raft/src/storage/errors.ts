/**
 * Typed errors of the storage layer (STYLE.md practice 4). These are the
 * expected failures of a disk: a corrupt record, a data directory that
 * belongs to another node, use after close, an I/O failure. Each has a
 * stable `code` that callers and tests match on; messages are for humans
 * and may change. Broken invariants (bugs) are InvariantError instead.
 */
import { InvariantError } from "../core/assert.ts";

/** Stable codes of every StorageError, documented in the README. */
export type StorageErrorCode =
  /** A record read back from disk is damaged: bad checksum, length, encoding, or breaks a log invariant. */
  | "STORAGE_CORRUPT"
  /** The data directory was initialised by another node (or cluster). */
  | "STORAGE_WRONG_NODE"
  /** The storage was closed; no further writes are accepted. */
  | "STORAGE_CLOSED"
  /** The underlying store failed (LevelDB or the file system). */
  | "STORAGE_IO"
  /** No snapshot with the requested index is stored (never saved, or pruned). */
  | "STORAGE_NOT_FOUND"
  /** A snapshot chunk arrived at an offset that leaves a hole in the received data. */
  | "STORAGE_BAD_OFFSET"
  /** A snapshot received from a leader failed the state machine's verification and was refused. */
  | "SNAPSHOT_INVALID"
  /** The data directory was written by a newer release, in a format this build cannot read. */
  | "STORAGE_TOO_NEW";

/** Base class of every expected storage failure; match on `code`, not on the class or message. */
export class StorageError extends Error {
  override readonly name: string = "StorageError";

  /** `cause` is the underlying error (a LevelDB or fs error), when there is one. */
  constructor(readonly code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Data read back from disk failed verification; it never becomes part of the log. */
export class StorageCorruptError extends StorageError {
  override readonly name = "StorageCorruptError";

  /** `where` names the record (key, index or file) and `what` says what was wrong with it. */
  constructor(where: string, what: string, options?: { cause?: unknown }) {
    super("STORAGE_CORRUPT", `corrupt storage at ${where}: ${what}`, options);
  }
}

/** What an operator does about a node whose log lost committed entries (a torn tail). */
export const REBUILD_HINT = "committed entries are gone from this node; move its data directory aside and let the node catch up from the cluster";

/** The data directory belongs to another node: starting on it would impersonate that node. */
export class StorageWrongNodeError extends StorageError {
  override readonly name = "StorageWrongNodeError";

  /** `kind` is what differs ("node" or "cluster"); both ids appear in the message. */
  constructor(dir: string, kind: "node" | "cluster", expected: string, found: string) {
    super("STORAGE_WRONG_NODE",
      `data directory ${dir} belongs to ${kind} "${found}", but this process was started as ${kind} "${expected}"; ` +
      `point it at its own data directory`);
  }
}

/**
 * The data directory is in a newer on-disk format than this build reads:
 * a newer release wrote it (a downgrade after the new release migrated it).
 * Nothing is changed; start the newer release again.
 */
export class StorageTooNewError extends StorageError {
  override readonly name = "StorageTooNewError";

  /**
   * `what` names the store; `found` is its format, `readable` the newest this
   * build reads; `message` replaces the standard wording.
   */
  constructor(what: string, readonly found: number, readonly readable: number, message?: string) {
    super("STORAGE_TOO_NEW", message ??
      `${what} is in on-disk format ${found}, written by a newer raftbus; this build reads formats up to ${readable}. ` +
      `Run the newer release on it (formats migrate forward only, when a newer release first opens the data)`);
  }
}

/** A write was attempted after close(). */
export class StorageClosedError extends StorageError {
  override readonly name = "StorageClosedError";

  /** `what` names the storage that was closed. */
  constructor(what: string) {
    super("STORAGE_CLOSED", `${what} is closed`);
  }
}

/** The underlying store failed; `cause` carries the original error. */
export class StorageIoError extends StorageError {
  override readonly name = "StorageIoError";

  /** `op` names the operation that failed (e.g. "batch write to /data/raft"). */
  constructor(op: string, cause: unknown) {
    super("STORAGE_IO", `${op} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** A snapshot chunk was offered at an offset beyond the bytes received so far. */
export class StorageBadOffsetError extends StorageError {
  override readonly name = "StorageBadOffsetError";

  /** `have` is how many bytes the receiver holds; the sender should resume from there. */
  constructor(readonly have: number, offset: number) {
    super("STORAGE_BAD_OFFSET", `chunk at offset ${offset} leaves a gap: ${have} bytes received so far`);
  }
}

/** The requested snapshot is not stored (never saved, or pruned meanwhile). */
export class StorageNotFoundError extends StorageError {
  override readonly name = "StorageNotFoundError";

  /** `what` names the missing item, e.g. "snapshot 42". */
  constructor(what: string) {
    super("STORAGE_NOT_FOUND", `${what} is not stored`);
  }
}

/**
 * A snapshot received from a leader cannot be restored (truncated, damaged,
 * another format or index). It is refused before it becomes the node's
 * snapshot: the node keeps its state and the leader retries later.
 */
export class SnapshotInvalidError extends StorageError {
  override readonly name = "SnapshotInvalidError";

  /** `why` is the state machine's verification failure (also kept as `cause`). */
  constructor(index: number, term: number, from: string, why: unknown) {
    super("SNAPSHOT_INVALID",
      `snapshot ${index} (term ${term}) received from ${from} was refused: ${why instanceof Error ? why.message : String(why)}`,
      { cause: why });
  }
}

/** Wraps an unknown failure of the underlying store, passing StorageErrors (and bugs) through. */
export function wrapIo(op: string, err: unknown): Error {
  if (err instanceof StorageError) return err;
  if (err instanceof InvariantError) return err;
  return new StorageIoError(op, err);
}

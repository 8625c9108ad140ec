/**
 * A committed entry this build cannot apply because it needs a newer
 * cluster version than the build implements. Applying it as anything else
 * (BAD_REQUEST, skipping it) would make this replica diverge from the ones
 * that understand it, so apply() throws this instead: the state machine
 * stops, the Raft driver stops, and the node exits (exit code 6) with this
 * message. Nothing past the previous entry was applied; a newer build
 * started on the same data directory continues from there.
 */
import { BUILD_CLUSTER_VERSION } from "./cluster-version.ts";

/** See the module comment. Stable code UNSUPPORTED_ENTRY. */
export class UnsupportedEntryError extends Error {
  override readonly name = "UnsupportedEntryError";
  /** Stable code. */
  readonly code = "UNSUPPORTED_ENTRY";

  /**
   * @param index the entry's Raft index
   * @param needed the cluster version the entry says it needs
   * @param implemented the highest version this node implements
   */
  constructor(readonly index: number, readonly needed: number, readonly implemented: number = BUILD_CLUSTER_VERSION) {
    super(
      `committed entry ${index} needs cluster version ${needed}, but this node implements versions up to ${implemented}: ` +
      `it refuses to apply it rather than diverge from the other replicas. Upgrade raftbus on this node and start it again ` +
      `on the same data directory; everything up to entry ${index - 1} is applied and kept.`,
    );
  }
}

/** The UnsupportedEntryError behind `err` (itself or a cause), if any. */
export function unsupportedEntry(err: unknown): UnsupportedEntryError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof UnsupportedEntryError) return e;
  }
  return undefined;
}

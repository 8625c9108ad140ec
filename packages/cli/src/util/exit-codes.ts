/**
 * Exit codes scripts can rely on (documented in the README).
 */
export const EXIT = {
  OK: 0,
  /** The command failed (server answered with an error). */
  FAILED: 1,
  /** Bad usage or configuration: fix the command line or config. */
  USAGE: 2,
  /** Data on disk is corrupt or belongs to another node. */
  DATA: 3,
  /** No server could be reached. */
  UNREACHABLE: 4,
  /** Timed out. */
  TIMEOUT: 5,
  /** (node) This build is too old for the cluster's log or for its data directory: upgrade it. */
  UPGRADE: 6,
} as const;

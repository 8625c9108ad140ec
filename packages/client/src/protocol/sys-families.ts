/**
 * The vocabulary of system events shared by nodes, the SDK and the CLI:
 * the nine families (one `$sys.` topic or topic prefix each) and the
 * severities (docs/system-events.md).
 */

/** The header that carries a system message's signature. */
export const SYS_SIGNATURE_HEADER = "raftbus-sig";
/** The header value of a system message sent without a secret (development). */
export const SYS_UNSIGNED = "unsigned";

/** The event families. */
export const SYS_FAMILIES = [
  "system", "health", "metrics", "lifecycle", "alerts", "audit", "security", "diagnostics", "logging",
] as const;
/** One family. */
export type SysFamily = (typeof SYS_FAMILIES)[number];

/** Severities, lowest first. */
export const SEVERITIES = ["info", "warning", "critical"] as const;
/** One severity. */
export type Severity = (typeof SEVERITIES)[number];

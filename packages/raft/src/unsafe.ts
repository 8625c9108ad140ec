/**
 * Test-only switches that break one of raftbus's promises on purpose, so
 * the chaos checker (test/chaos) can show that it catches the breakage.
 * Never for production: a node refuses to start with a switch unless a
 * second variable confirms it, and then says so loudly on stderr.
 *
 *   RAFTBUS_UNSAFE=ack-before-commit RAFTBUS_UNSAFE_CONFIRM=I-accept-losing-data raftbus node start …
 *
 * - `ack-before-commit`: the leader commits (and so acknowledges) an entry
 *   as soon as it holds it itself, without a majority;
 * - `follower-no-fsync`: followers acknowledge appends without making them
 *   durable — their writes wait in memory for 5 s, as an OS page cache
 *   that a power cut would lose (a kill -9 stands in for the power cut);
 * - `skip-dedup`: the broker stores a resent message again instead of
 *   answering with the original (publisher deduplication off).
 */

/** The switches. */
export const UNSAFE_SWITCHES = ["ack-before-commit", "follower-no-fsync", "skip-dedup"] as const;

/** One switch. */
export type UnsafeSwitch = (typeof UNSAFE_SWITCHES)[number];

/** The value RAFTBUS_UNSAFE_CONFIRM must have. */
export const UNSAFE_CONFIRMATION = "I-accept-losing-data";

/** Thrown when RAFTBUS_UNSAFE is malformed or not confirmed. */
export class UnsafeSwitchError extends Error {
  override readonly name = "UnsafeSwitchError";
  readonly code = "INVALID_CONFIG";
}

/** Parse the switches from the environment; throws UnsafeSwitchError on unknown names or a missing confirmation. */
export function parseUnsafeSwitches(env: NodeJS.ProcessEnv): ReadonlySet<UnsafeSwitch> {
  const raw = env["RAFTBUS_UNSAFE"]?.trim() ?? "";
  if (raw === "") return new Set();
  const names = raw.split(",").map((s) => s.trim());
  for (const n of names) {
    if (!(UNSAFE_SWITCHES as readonly string[]).includes(n)) {
      throw new UnsafeSwitchError(`RAFTBUS_UNSAFE: unknown switch "${n}" (known: ${UNSAFE_SWITCHES.join(", ")})`);
    }
  }
  if (env["RAFTBUS_UNSAFE_CONFIRM"] !== UNSAFE_CONFIRMATION) {
    throw new UnsafeSwitchError(`RAFTBUS_UNSAFE=${raw} breaks raftbus's promises and needs RAFTBUS_UNSAFE_CONFIRM=${UNSAFE_CONFIRMATION}`);
  }
  return new Set(names as UnsafeSwitch[]);
}

let enabled: ReadonlySet<UnsafeSwitch> | undefined;

/** Is `name` on in this process? (The environment is read once.) */
export function unsafe(name: UnsafeSwitch): boolean {
  enabled ??= parseUnsafeSwitches(process.env);
  return enabled.has(name);
}

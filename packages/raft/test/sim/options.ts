/**
 * What one simulated run does. Every setting is drawn from the seed (so each
 * seed explores its own mix of Raft settings and hostility), and any of
 * them can be pinned: a test batch pins some ("7 voters"), `pnpm sim` takes
 * them all as flags, and every failure prints the command that replays it —
 * the seed plus exactly the pinned settings.
 */
import { SeededRand } from "../../src/core/rand.ts";

/** The settings of one run; all but seed/steps/app are drawn from the seed unless pinned. */
export interface SimSettings {
  /** Voters n1..nV at bootstrap. */
  voters: number;
  /** Nodes outside the initial configuration, for membership changes. */
  spares: number;
  preVote: boolean;
  checkQuorum: boolean;
  electionTicks: number;
  heartbeatTicks: number;
  /** Length of one tick (and of one simulation step), in ms of true time. */
  tickMs: number;
  msgEntriesMax: number;
  inflightMessagesMax: number;
  /** Take a snapshot after this many applied entries. */
  snapshotEntries: number;
  trailingEntries: number;
  /** ...or once the entries since the last snapshot hold this many bytes; the tail kept holds at most trailingBytes. */
  snapshotBytes: number;
  trailingBytes: number;
  /**
   * Most bytes of committed entries one Ready hands to the application. Small,
   * a backlog is applied over several turns: a read confirmed meanwhile must
   * still wait until its index is applied.
   */
  applyBytesMax: number;
  /** The snapshot store keeps chunks of at most this many bytes. */
  storeChunkBytes: number;
  /** Each snapshot transfer re-chunks the stream at a random size up to this. */
  streamChunkBytes: number;
  /** Clock rates are drawn from [1 − clockDrift, 1 + clockDrift]; offsets from ±clockSkewMs. */
  clockDrift: number;
  clockSkewMs: number;
  /** Disk latency (ms, node time) of plain and fsync'd writes, and how often a write stalls. */
  diskWriteMs: number;
  diskSyncMs: number;
  diskStallChance: number;
  /** Faults (network weather, partitions, crashes, corruption) during the chaos phase. */
  faults: boolean;
  membershipChanges: boolean;
  /** Messages delayed by many election timeouts: longest delay in election timeouts. */
  lateMessageTimeouts: number;
}

/** Every run's identity: seed, length, application, and the settings pinned on top of the seed's. */
export interface SimOptions {
  readonly seed: number;
  /** Chaos steps (one tick of true time each) before the faults heal. */
  readonly steps: number;
  /** Application name ("kv" or "broker"). */
  readonly app: string;
  /** Settings pinned instead of drawn from the seed. */
  readonly pinned: Partial<SimSettings>;
}

/** The settings a seed draws, with `pinned` on top. */
export function settingsFor(opts: SimOptions): SimSettings {
  const r = new SeededRand(opts.seed ^ 0x5bd1e995);
  const electionTicks = 5 + r.int(16);
  const drawn: SimSettings = {
    voters: r.chance(0.6) ? 3 : 5,
    spares: 2,
    preVote: r.chance(0.75),
    checkQuorum: r.chance(0.75),
    electionTicks,
    heartbeatTicks: 1 + r.int(Math.max(1, Math.floor(electionTicks / 4))),
    tickMs: [5, 10, 20, 50, 100][r.int(5)]!,
    msgEntriesMax: 1 + r.int(64),
    inflightMessagesMax: 1 + r.int(16),
    snapshotEntries: 10 + r.int(90),
    trailingEntries: r.int(12),
    storeChunkBytes: r.chance(0.5) ? 1 + r.int(64) : 1 + r.int(8192),
    streamChunkBytes: r.chance(0.5) ? 1 + r.int(64) : 1 + r.int(16384),
    clockDrift: r.chance(0.5) ? 0 : r.float() * 0.3,
    clockSkewMs: r.chance(0.5) ? 0 : r.int(20_000),
    diskWriteMs: r.float() * 2,
    diskSyncMs: r.float() * 10,
    diskStallChance: r.chance(0.7) ? 0 : r.float() * 0.01,
    faults: true,
    membershipChanges: true,
    lateMessageTimeouts: 1 + r.int(6),
    // Drawn last, so the settings above stay what each seed drew before these existed.
    snapshotBytes: r.chance(0.5) ? 2 ** 30 : 200 + r.int(8000),
    trailingBytes: r.chance(0.5) ? 2 ** 30 : r.int(2000),
    applyBytesMax: r.chance(0.5) ? 16 * 1024 * 1024 : 1 + r.int(4000),
  };
  return { ...drawn, ...opts.pinned };
}

/** Parsers for `pnpm sim` flags, one per setting (kebab-case flag names). */
export const SETTING_FLAGS: { readonly [K in keyof SimSettings]: "int" | "number" | "boolean" } = {
  voters: "int", spares: "int", preVote: "boolean", checkQuorum: "boolean", electionTicks: "int", heartbeatTicks: "int",
  tickMs: "int", msgEntriesMax: "int", inflightMessagesMax: "int", snapshotEntries: "int", trailingEntries: "int",
  snapshotBytes: "int", trailingBytes: "int", applyBytesMax: "int",
  storeChunkBytes: "int", streamChunkBytes: "int", clockDrift: "number", clockSkewMs: "int", diskWriteMs: "number",
  diskSyncMs: "number", diskStallChance: "number", faults: "boolean", membershipChanges: "boolean", lateMessageTimeouts: "int",
};

/** camelCase → kebab-case. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The command that replays `opts` exactly. */
export function replayCommand(opts: SimOptions): string {
  const pinned = Object.entries(opts.pinned).map(([k, v]) => ` --${flagName(k)} ${String(v)}`).join("");
  return `pnpm sim --app ${opts.app} --seeds 1 --from ${opts.seed} --steps ${opts.steps}${pinned}`;
}

/** Parses one flag value; throws a clear message when it does not fit the setting. */
export function parseSetting(key: keyof SimSettings, raw: string): number | boolean {
  const kind = SETTING_FLAGS[key];
  if (kind === "boolean") {
    if (raw === "true" || raw === "false") return raw === "true";
    throw new Error(`--${flagName(key)} takes true or false, got ${JSON.stringify(raw)}`);
  }
  const n = Number(raw);
  if (!Number.isFinite(n) || (kind === "int" && !Number.isInteger(n))) {
    throw new Error(`--${flagName(key)} takes ${kind === "int" ? "a whole number" : "a number"}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

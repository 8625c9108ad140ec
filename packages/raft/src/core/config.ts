/**
 * Configuration of one Raft core, validated once at construction
 * (STYLE.md practice 5: a limit on everything, units last in names).
 */
import { assert } from "./assert.ts";
import type { NodeId } from "./types.ts";

/** Tunables of the core. Times are in ticks; the driver decides how long a tick is. */
export interface RaftConfig {
  readonly id: NodeId;
  /** Base election timeout; the randomized timeout is in [electionTicks, 2·electionTicks). */
  readonly electionTicks: number;
  /** Leader heartbeat interval; must be well below electionTicks. */
  readonly heartbeatTicks: number;
  /** Pre-vote (thesis §9.6): a partitioned node cannot inflate terms and disrupt the cluster. */
  readonly preVote: boolean;
  /** Check-quorum: a leader that has not heard from a majority for an election timeout steps down. */
  readonly checkQuorum: boolean;
  /** Most entries in one append message. */
  readonly msgEntriesMax: number;
  /** Most entry bytes in one append message (at least one entry is always sent). */
  readonly msgBytesMax: number;
  /** Most unacknowledged append messages per follower in the replicate state. */
  readonly inflightMessagesMax: number;
  /** Most unacknowledged entry bytes per follower in the replicate state. */
  readonly inflightBytesMax: number;
  /** Most bytes of proposed but uncommitted entries on a leader before proposals are dropped. */
  readonly uncommittedBytesMax: number;
  /** Most entry bytes handed to the application in one Ready. */
  readonly applyBytesMax: number;
  /** Most ReadIndex requests waiting for confirmation. */
  readonly readQueueMax: number;
  /** The application's applied index at start-up: committed entries up to it are not re-emitted. */
  readonly applied: number;
  /**
   * Test-only fault switches that break Raft on purpose, so the simulator's
   * checks can be shown to catch them. Never set in production.
   */
  readonly unsafeFaults?: {
    /** Commit by counting replicas of an entry from an older term (violates §5.4.2). */
    readonly commitOldTermEntries?: boolean;
    /** Grant a second vote in the same term. */
    readonly voteTwice?: boolean;
    /** Commit what the leader itself holds, without a majority (acknowledge before commit; chaos tests). */
    readonly commitAlone?: boolean;
  };
}

/** Sensible defaults for everything but the id. */
export const DEFAULT_RAFT_CONFIG: Omit<RaftConfig, "id"> = {
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  msgEntriesMax: 512,
  msgBytesMax: 1024 * 1024,
  inflightMessagesMax: 256,
  inflightBytesMax: 32 * 1024 * 1024,
  uncommittedBytesMax: 64 * 1024 * 1024,
  applyBytesMax: 16 * 1024 * 1024,
  readQueueMax: 4096,
  applied: 0,
};

/** Fill defaults and check how the limits relate. */
export function resolveConfig(partial: Partial<RaftConfig> & { id: NodeId }): RaftConfig {
  const c: RaftConfig = { ...DEFAULT_RAFT_CONFIG, ...partial };
  assert(c.id.length > 0, "config: id must not be empty");
  assert(Number.isInteger(c.heartbeatTicks) && c.heartbeatTicks >= 1, "config: heartbeatTicks must be an integer ≥ 1");
  assert(Number.isInteger(c.electionTicks) && c.electionTicks > c.heartbeatTicks,
    () => `config: electionTicks (${c.electionTicks}) must exceed heartbeatTicks (${c.heartbeatTicks})`);
  for (const k of ["msgEntriesMax", "msgBytesMax", "inflightMessagesMax", "inflightBytesMax",
    "uncommittedBytesMax", "applyBytesMax", "readQueueMax"] as const) {
    assert(Number.isInteger(c[k]) && c[k] >= 1, () => `config: ${k} must be an integer ≥ 1`);
  }
  assert(Number.isInteger(c.applied) && c.applied >= 0, "config: applied must be an integer ≥ 0");
  return c;
}

/**
 * Cluster versions: what keeps replicas of different raftbus releases from
 * diverging during a rolling upgrade (as Kafka's `metadata.version` and
 * CockroachDB's cluster version do).
 *
 * A cluster version is a small integer naming a set of formats: the command
 * types and fields that may appear in the Raft log and the way apply()
 * writes them to the broker's store. Each build implements every version up
 * to {@link BUILD_CLUSTER_VERSION}. The cluster's version lives in the
 * replicated state (meta record) and only goes up, through a committed
 * `setClusterVersion` command the leader proposes once every member runs a
 * build that implements it (`raftbus cluster finalize-upgrade`; a fresh
 * cluster sets it by itself).
 *
 * Three rules keep replicas identical:
 * 1. every entry carries the version it needs (`v`, see codec.ts): a node
 *    whose build does not implement it refuses to apply it and stops
 *    (UnsupportedEntryError) instead of applying it differently;
 * 2. the leader proposes a command only when the cluster's version covers it
 *    (FEATURE_NOT_ENABLED otherwise), so during an upgrade nothing reaches the
 *    log that an older member could not apply;
 * 3. apply() behaviour that changes with a version reads the replicated
 *    cluster version, never the build's.
 *
 * Adding a command type, a command field or an apply() behaviour that older
 * builds would treat differently (HARD_LIMITS included) means adding a
 * version here and naming it in {@link COMMAND_SINCE} or in the apply code.
 */
import type { Command, CommandType } from "../commands/types.ts";

/** What each cluster version added, for messages, `cluster version` and docs/OPERATIONS.md. */
export const CLUSTER_VERSIONS = {
  1: "the first versioned release: topics, publish, subscriptions, delivery entries (attempts, acks, fails), dead letters, maintenance, time entries, setClusterVersion",
  2: "member addresses kept in the replicated state (survive restarts, snapshots and backups)",
  3: "limits decided in apply: subscriptions in the cluster, regex NFA states (per subscription and in total), durable subscriptions per owner; a filter stops matching past its per-message step budget",
  4: "users and permissions: user records (token hashes and grants) kept in the replicated state (raftbus user add|remove|rotate|grant)",
  5: "topic signing keys (raftbus key add|remove): publishes to the topics a key guards must carry its HMAC signature",
} as const;

/** A cluster version this build knows. */
export type ClusterVersion = keyof typeof CLUSTER_VERSIONS;

/** The highest cluster version this build implements. */
export const BUILD_CLUSTER_VERSION = 5;

/** From this version apply() enforces the subscription limits and the filter step budget (issue 13). */
export const LIMITS_IN_APPLY_VERSION = 3;

/** From this version the cluster keeps users (putUser, removeUser; issue 13). */
export const USERS_VERSION = 4;

/** From this version the cluster keeps topic signing keys (putSigningKey/removeSigningKey; issue 13 part 4). */
export const SIGNING_KEYS_VERSION = 5;

/** The oldest: every build implements it, so every cluster runs at least it. */
export const BASE_CLUSTER_VERSION = 1;

/**
 * The cluster version that introduced each command type. Typed over every
 * command type, so a new command does not compile until it is given one.
 */
export const COMMAND_SINCE: Readonly<Record<CommandType, number>> = {
  createTopic: 1, deleteTopic: 1, updateRetention: 1, publish: 1,
  createSubscription: 1, updateSubscription: 1, deleteSubscription: 1, expireSession: 1,
  delivery: 1, dlqReplay: 1, dlqPurge: 1, maintenance: 1, tick: 1,
  setClusterVersion: 1, recordMembers: 2, putUser: USERS_VERSION, removeUser: USERS_VERSION,
  putSigningKey: SIGNING_KEYS_VERSION, removeSigningKey: SIGNING_KEYS_VERSION,
};

/** The cluster version an entry carrying `command` needs: its type's, or more for fields added later. */
export function requiredVersion(command: Command): number {
  const since = COMMAND_SINCE[command.type];
  // A setClusterVersion entry can only be applied by a build that implements the target.
  if (command.type === "setClusterVersion") return Math.max(since, command.version);
  // The owner and the per-owner limit are fields older builds would drop.
  if (command.type === "createSubscription" && (command.durablePerOwnerMax !== undefined || command.subscription.owner !== undefined)) {
    return Math.max(since, LIMITS_IN_APPLY_VERSION);
  }
  return since;
}

/** The version gating decisions use: a fresh cluster whose version is not set yet (0) runs the base. */
export function effectiveVersion(clusterVersion: number): number {
  return Math.max(BASE_CLUSTER_VERSION, clusterVersion);
}

/** One line per version from `from` (exclusive) to `to` (inclusive): what finalizing enables. */
export function versionChanges(from: number, to: number): string[] {
  const out: string[] = [];
  for (let v = from + 1; v <= to; v++) {
    const what = (CLUSTER_VERSIONS as Record<number, string>)[v];
    if (what !== undefined) out.push(`${v}: ${what}`);
  }
  return out;
}

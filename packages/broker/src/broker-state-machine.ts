/**
 * The broker as a Raft state machine (SPEC §2–§4, §6): committed entries go
 * in through apply(), one LevelDB batch per call carries their effects and
 * the applied index; queries and the dispatcher read the applied state.
 *
 * Concurrency: apply, restore, the dispatcher and the queries run one at a
 * time (an internal lock), so a reader never sees half an entry.
 *
 * Durability: the batch is not fsync'd by default (config.syncWrites). The
 * Raft log is fsync'd before its entries are applied; if an OS crash loses
 * the last broker batches, appliedIndex() reopens lower and the driver
 * re-applies those entries from the log. A process crash loses nothing
 * (LevelDB's write-ahead log is in the OS page cache). The driver must keep
 * Raft log entries, or a snapshot, covering everything after appliedIndex().
 */
import { RaftbusError } from "@raftbus/client/protocol";
import { buildPublish, checkProposal, subscriptionDefaults } from "./commands/build.ts";
import type { BuildPublishInput, SubscriptionRequest } from "./commands/build.ts";
import type { Command, PublishCommand, SubscriptionSpec } from "./commands/types.ts";
import { makeConfig } from "./config.ts";
import type { BrokerConfig } from "./config.ts";
import { Dispatcher } from "./dispatcher/dispatcher.ts";
import type { DispatchRequest, DispatcherOptions, PlannedDelivery } from "./dispatcher/dispatcher.ts";
import {
  dlqList, ephemeralSessions, listSubscriptions, listTopics, readDeliveries, readMessages, stats, subscriptionInfo, topicInfo,
} from "./queries/queries.ts";
import type {
  BrokerStats, DeliveredMessage, EphemeralSession, DeliveryRef, DlqEntry, SubscriptionInfo, SubscriptionSummary, TopicInfo, TopicSummary,
} from "./queries/queries.ts";
import { metricsSnapshot } from "./queries/metrics-snapshot.ts";
import type { BrokerFigures } from "./queries/metrics-snapshot.ts";
import { OldestTimestamps, nextTimeWork } from "./queries/time-work.ts";
import { StorageCorruptError, StorageTooNewError, assert, decodeConfEntry } from "./raft-api.ts";
import type { Entry, SnapshotMeta, StateMachine } from "./raft-api.ts";
import { applyEntry } from "./state/apply.ts";
import { DigestHistory, chainDigest } from "./state/digest.ts";
import { applyConfChangeToBook } from "./state/members.ts";
import type { MemberRecord, SigningKeyRecord, UserRecord } from "./store/records.ts";
import { keysGuarding } from "./state/signing-keys.ts";
import type { ApplyEffects } from "./state/context.ts";
import type { CommandResult } from "./state/results.ts";
import { BrokerState } from "./state/state.ts";
import { META_KEY, compareKeys } from "./store/keys.ts";
import { decodeMeta } from "./store/records.ts";
import { storageCorruption } from "./store/checksum.ts";
import { SnapshotFormatError, decodeSnapshot } from "./store/snapshot-codec.ts";
import { BrokerStore } from "./store/store.ts";
import { effectiveVersion, requiredVersion } from "./version/cluster-version.ts";
import { UnsupportedEntryError } from "./version/unsupported-entry.ts";
import type { BinaryDb } from "./store/txn.ts";
import type { StoreVolume } from "./store/volume.ts";
import { Txn } from "./store/txn.ts";
import type { StoredMessage } from "@raftbus/client/protocol";

/** One planned delivery with its message, ready to hand out (undefined: the message is gone). */
export interface PlannedMessage {
  readonly item: PlannedDelivery;
  readonly message: DeliveredMessage | undefined;
}

/** Options of {@link BrokerStateMachine.open} besides the config. */
export interface BrokerOpenOptions {
  readonly dispatcher?: DispatcherOptions;
}

/** The broker state machine; see the module comment. */
export class BrokerStateMachine implements StateMachine<CommandResult | undefined> {
  /** Plans deliveries for the node server (leader only). */
  readonly dispatcher: Dispatcher;
  private tail: Promise<unknown> = Promise.resolve();
  /** Applied index as of the last committed batch (what the disk holds). */
  private applied: number;
  /** State digests of the last entries applied here (state/digest.ts), for comparing replicas at one index. */
  private readonly digests = new DigestHistory();
  /** Set when apply() failed with a bug: the in-memory state is no longer trustworthy. */
  private failure: unknown;
  private closed = false;
  private readonly appliedListeners: (() => void)[] = [];
  /** Oldest message timestamps for nextTimeWork (leader-local cache). */
  private readonly ageCache = new OldestTimestamps();
  private readonly memberListeners: ((members: ReadonlyMap<string, MemberRecord>) => void)[] = [];
  private readonly userListeners: ((names: readonly string[] | "all") => void)[] = [];

  private constructor(
    private readonly store: BrokerStore,
    private state: BrokerState,
    /** The validated configuration (proposal-side settings; see config.ts). */
    readonly config: BrokerConfig,
    opts: BrokerOpenOptions,
  ) {
    this.applied = state.meta.appliedIndex;
    this.digests.add(state.meta.appliedIndex, state.meta.digest);
    this.dispatcher = new Dispatcher({
      state: () => this.state,
      db: () => this.store.db,
      exclusive: (fn) => this.exclusive(fn),
    }, opts.dispatcher);
  }

  /**
   * Opens (or creates) the broker state on `volume` — a directory path for
   * LevelDB on disk, or any StoreVolume (MemoryVolume in tests, the
   * simulator's disk) — and rebuilds the in-memory caches from it.
   */
  static async open(volume: string | StoreVolume, config: Partial<BrokerConfig> = {}, opts: BrokerOpenOptions = {}): Promise<BrokerStateMachine> {
    const cfg = makeConfig(config);
    const store = await BrokerStore.open(volume);
    try {
      const state = await BrokerState.load(store.db);
      if (state.meta.clusterVersion > cfg.clusterVersionMax) {
        // A node rolled back to an older release after the cluster was finalized on a newer one.
        throw new StorageTooNewError(`broker state (${store.label})`, state.meta.clusterVersion, cfg.clusterVersionMax,
          `the broker state in ${store.label} runs cluster version ${state.meta.clusterVersion}, but this node implements versions up to ` +
          `${cfg.clusterVersionMax}: the cluster was upgraded past this release. Start this node with the newer release (a finalized ` +
          "upgrade cannot be rolled back)");
      }
      return new BrokerStateMachine(store, state, cfg, opts);
    } catch (err) {
      await store.close();
      const corrupt = storageCorruption(err);
      if (corrupt !== undefined) {
        throw new StorageCorruptError(`broker state (${store.label})`, `a record read at start-up failed verification: ${corrupt.message}`, { cause: err });
      }
      throw err;
    }
  }

  /** Closes the database after any running operation. */
  async close(): Promise<void> {
    await this.exclusive(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.store.close();
    });
  }

  // ---- StateMachine -------------------------------------------------------

  /**
   * Applies committed entries in order, skipping those already applied (a
   * restart may hand them again), in ONE atomic LevelDB batch.
   */
  async apply(entries: readonly Entry[]): Promise<(CommandResult | undefined)[]> {
    return this.exclusive(async () => {
      this.checkUsable();
      const { state } = this;
      const txn = new Txn(this.store.db);
      const effects: ApplyEffects = { settledReservations: [], deletedSubscriptions: [], compactRequested: false };
      const results: (CommandResult | undefined)[] = [];
      const digests: [number, Uint8Array][] = [];
      let changed = false;
      let membersChanged = false;
      const usersChanged: string[] = [];
      let refused: UnsupportedEntryError | undefined;
      try {
        for (const e of entries) {
          if (e.index <= state.meta.appliedIndex) {
            results.push(undefined);
            continue;
          }
          assert(e.index === state.meta.appliedIndex + 1, () => `apply: entry ${e.index} after applied index ${state.meta.appliedIndex} (gap)`);
          let result: CommandResult | undefined;
          if (e.type === "normal") {
            try {
              result = await applyEntry(state, txn, effects, e.index, e.data, this.config.clusterVersionMax);
            } catch (err) {
              // Refused before it changed anything: keep what came before it, then stop.
              if (!(err instanceof UnsupportedEntryError)) throw err;
              refused = err;
              break;
            }
            if (result.ok && result.type === "recordMembers" && result.recorded.length > 0) membersChanged = true;
            if (result.ok && (result.type === "putUser" || result.type === "removeUser")) usersChanged.push(result.name);
          } else if (e.type === "conf" && applyConfChangeToBook(state, txn, () => decodeConfEntry(e.data).change)) {
            membersChanged = true;
          }
          results.push(result);
          state.meta.appliedIndex = e.index;
          state.meta.digest = chainDigest(state.meta.digest, e, result);
          digests.push([e.index, state.meta.digest]);
          changed = true;
        }
        if (changed) {
          state.flush(txn);
          await txn.commit({ sync: this.config.syncWrites });
        }
      } catch (err) {
        this.failure = err;
        throw err;
      }
      this.applied = state.meta.appliedIndex;
      for (const [index, digest] of digests) this.digests.add(index, digest);
      this.dispatcher.settle(effects.settledReservations);
      for (const name of effects.deletedSubscriptions) this.dispatcher.forget(name);
      if (effects.compactRequested) await this.store.compact();
      if (changed) for (const l of this.appliedListeners) l();
      if (membersChanged) this.notifyMembers();
      if (usersChanged.length > 0) for (const l of this.userListeners) l(usersChanged);
      if (refused !== undefined) {
        this.failure = refused;
        throw refused;
      }
      return results;
    });
  }

  /**
   * Called after every apply() that changed the state (the node server's
   * delivery pump listens, so a committed message is pushed in the same
   * turn as its apply). Listeners must not throw and must not wait.
   */
  onApplied(listener: () => void): void {
    this.appliedListeners.push(listener);
  }

  /** The state digest at appliedIndex() (state/digest.ts), hex. */
  stateDigest(): { readonly index: number; readonly digest: string } {
    const digest = this.digests.at(this.applied);
    assert(digest !== undefined, "the digest at the applied index is always remembered");
    return { index: this.applied, digest };
  }

  /** The state digest after entry `index`, hex, while this node still remembers it (its last DIGEST_HISTORY_MAX entries). */
  digestAt(index: number): string | undefined {
    return this.digests.at(index);
  }

  /** Index of the last entry whose effects are on disk. */
  appliedIndex(): number {
    return this.applied;
  }

  /**
   * Streams the whole state as of this call (a LevelDB snapshot taken now).
   * Call it between apply() calls: it then describes appliedIndex().
   */
  snapshot(): AsyncIterable<Uint8Array> {
    this.checkUsable();
    return this.store.snapshotChunks();
  }

  /**
   * The state as of now for a backup (backup/backup-streams.ts): the same
   * stream snapshot() gives, taken between two applies (inside the lock), so
   * `index` is exactly the state the stream holds. The LevelDB snapshot
   * under it stays pinned until the stream is read to the end or closed.
   */
  async backupSource(): Promise<{ readonly index: number; readonly clusterVersion: number; readonly chunks: AsyncIterable<Uint8Array> }> {
    return this.read(async () => ({ index: this.applied, clusterVersion: this.state.meta.clusterVersion, chunks: this.store.snapshotChunks() }));
  }

  /**
   * Restore only (backup/restore.ts): replaces the replicated address book
   * of a freshly restored state with the new cluster's members, so the new
   * cluster never dials the old one's addresses. Every node of the new
   * cluster does the same with the same list, so replicas stay identical.
   */
  async replaceMembers(members: readonly MemberRecord[]): Promise<void> {
    await this.exclusive(async () => {
      this.checkUsable();
      const txn = new Txn(this.store.db);
      for (const id of [...this.state.members.keys()]) this.state.removeMember(txn, id);
      for (const m of members) this.state.putMember(txn, m);
      await txn.commit({ sync: true });
    });
    this.notifyMembers();
  }

  /**
   * Replaces the whole state with a snapshot's, crash-safely (see store.ts).
   * Throws SnapshotFormatError (SNAPSHOT_INVALID) and keeps the old state
   * when the stream cannot be restored or holds another index than `meta`'s.
   */
  async restore(meta: SnapshotMeta, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    await this.exclusive(async () => {
      if (this.closed) throw new RaftbusError("SHUTTING_DOWN", "broker is closed");
      await this.store.restore(chunks, async (db) => {
        const bytes = (await db.get(META_KEY)) as Uint8Array | undefined;
        checkSnapshotIndex(bytes, meta);
      });
      this.state = await BrokerState.load(this.store.db);
      this.applied = this.state.meta.appliedIndex;
      this.digests.reset();
      this.digests.add(this.applied, this.state.meta.digest);
      this.failure = undefined;
      this.dispatcher.reset();
      this.ageCache.clear();
    });
    this.notifyMembers();
    for (const l of this.userListeners) l("all");
  }

  /**
   * Reads a snapshot stream through without touching the state: resolves
   * when restore() would accept it (complete, undamaged, holding the state
   * at `meta.index`), else throws SnapshotFormatError. Runs beside apply().
   */
  async verifySnapshot(meta: SnapshotMeta, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    let metaBytes: Uint8Array | undefined;
    await decodeSnapshot(chunks, async (pairs) => {
      for (const [k, v] of pairs) if (compareKeys(k, META_KEY) === 0) metaBytes = v;
    });
    checkSnapshotIndex(metaBytes, meta);
  }

  // ---- proposal helpers (leader side) -------------------------------------

  /** Stamps and validates a publish batch for proposing (see commands/build.ts). */
  buildPublish(input: BuildPublishInput): PublishCommand {
    return this.gate(buildPublish(this.config, input));
  }

  /** Fills a subscription request with the configured defaults. */
  subscriptionSpec(req: SubscriptionRequest): SubscriptionSpec {
    return subscriptionDefaults(this.config, req);
  }

  /** Validates any command against the configured limits before proposing it. */
  checkProposal(command: unknown, opts: { system?: boolean } = {}): Command {
    return this.gate(checkProposal(this.config, command, opts));
  }

  /**
   * The replicated cluster version as of the applied state (0 until a fresh
   * cluster's first leader sets it; see version/cluster-version.ts).
   */
  clusterVersion(): number {
    return this.state.meta.clusterVersion;
  }

  /**
   * Refuses (FEATURE_NOT_ENABLED) a command the cluster version does not
   * cover yet: an older member could not apply it. The applied version only
   * grows, so a command that passes here is covered when it is applied.
   */
  private gate<C extends Command>(command: C): C {
    if (command.type === "setClusterVersion") return command;
    const needed = requiredVersion(command);
    const running = effectiveVersion(this.state.meta.clusterVersion);
    if (needed > running) {
      throw new RaftbusError("FEATURE_NOT_ENABLED", `${command.type} needs cluster version ${needed}; the cluster runs version ${running}. ` +
        "Once every node runs a build that implements it, run `raftbus cluster finalize-upgrade`.");
    }
    return command;
  }

  /**
   * Matching work apply has done on published messages since this state was
   * loaded: regexes run, filters evaluated, payloads parsed for filters. One
   * publish costs what its topic selects, not what the cluster holds
   * (subscription-index.ts); tests count these rather than time.
   */
  matchingWork(): { readonly regexRuns: number; readonly filterEvaluations: number; readonly payloadParses: number } {
    return { regexRuns: this.state.index.regexRuns, ...this.state.matchingWork };
  }

  /** Filters and prefix-less regexes any message may run (see BrokerState.matchersPerMessageMax). */
  matchersPerMessageMax(): number {
    return this.state.matchersPerMessageMax();
  }

  // ---- delivery (leader side) ----------------------------------------------

  /**
   * Names of the subscriptions holding pending references: first deliveries
   * to make. Read without the lock: a hint for the pump, which runs again
   * after every apply, and the plan checks each subscription again under the lock.
   */
  *subscriptionsWithPending(): Iterable<string> {
    for (const sub of this.state.subsWithPending()) yield sub.name;
  }

  /** Those with pending references or deliveries waiting for a retry, each once (the pump's sweep). */
  *subscriptionsToSweep(): Iterable<string> {
    const pending = this.state.subsWithPending();
    for (const sub of pending) yield sub.name;
    for (const sub of this.state.subsWithRetries()) if (!pending.has(sub)) yield sub.name;
  }

  /**
   * Plans the next deliveries for the given consumers (see the dispatcher)
   * and reads their messages in the same step, so no apply can come between
   * the plan and the read.
   */
  async nextDeliveries(req: DispatchRequest): Promise<PlannedMessage[][]> {
    return this.read(async () => {
      const batches = await this.dispatcher.planLocked(req);
      const out: PlannedMessage[][] = [];
      for (const b of batches) {
        const messages = await readDeliveries(this.state, this.store.db, b.subscription, b.items);
        out.push(b.items.map((item, i) => ({ item, message: messages[i] })));
      }
      return out;
    });
  }

  /**
   * When time-driven work is next due, in log time (ms since epoch): an ack
   * deadline, a TTL, retention by age, or unfinished budgeted work (0 = now);
   * undefined when nothing time-driven is pending. The leader writes a time
   * entry only then (an idle cluster writes nothing).
   */
  async nextTimeWork(): Promise<number | undefined> {
    return this.read(() => nextTimeWork(this.state, this.store.db, this.ageCache));
  }

  // ---- queries ------------------------------------------------------------

  /** The replicated address book (cluster version ≥ 2): member id → where it listens. */
  members(): ReadonlyMap<string, MemberRecord> {
    return this.state.members;
  }

  /** The pattern of subscription `name` in the applied state (undefined when it does not exist). */
  subscriptionPattern(name: string): string | undefined {
    return this.state.subsByName.get(name)?.pattern.source;
  }

  /** User `name` as the applied state knows it (cluster version ≥ 4). */
  user(name: string): UserRecord | undefined {
    return this.state.users.get(name);
  }

  /** Every user, by name. */
  users(): ReadonlyMap<string, UserRecord> {
    return this.state.users;
  }

  /** Calls `listener` with the names of users an apply changed or removed ("all" after a restore). */
  onUsersChanged(listener: (names: readonly string[] | "all") => void): void {
    this.userListeners.push(listener);
  }

  /** Topic signing keys (cluster version ≥ 5), by name. */
  signingKeys(): ReadonlyMap<string, SigningKeyRecord> {
    return this.state.signingKeys;
  }

  /** The signing keys that guard `topic` (empty: publishes there need no signature). */
  signingKeysFor(topic: string): SigningKeyRecord[] {
    return keysGuarding(this.state.signingKeys.values(), topic);
  }

  /** Calls `listener` with the address book whenever it changes (an apply or a restore). */
  onMembersChanged(listener: (members: ReadonlyMap<string, MemberRecord>) => void): void {
    this.memberListeners.push(listener);
  }

  private notifyMembers(): void {
    for (const l of this.memberListeners) l(this.state.members);
  }

  /** Log time of the applied state. */
  async logNow(): Promise<number> {
    return this.read(async () => this.state.meta.logNow);
  }

  /** All topics. */
  async listTopics(): Promise<TopicSummary[]> {
    return this.read(async () => listTopics(this.state));
  }

  /** One topic's info; TOPIC_NOT_FOUND. */
  async topicInfo(name: string): Promise<TopicInfo> {
    return this.read(async () => topicInfo(this.state, name));
  }

  /** All subscriptions. */
  async listSubscriptions(): Promise<SubscriptionSummary[]> {
    return this.read(async () => listSubscriptions(this.state));
  }

  /** The sessions owning ephemeral subscriptions (read at one point, so none vanishes half-way). */
  async ephemeralSessions(): Promise<EphemeralSession[]> {
    return this.read(async () => ephemeralSessions(this.state));
  }

  /** One subscription's info; SUBSCRIPTION_NOT_FOUND. */
  async subscriptionInfo(name: string): Promise<SubscriptionInfo> {
    return this.read(async () => subscriptionInfo(this.state, name));
  }

  /** Broker-wide statistics. */
  async stats(): Promise<BrokerStats> {
    return this.read(async () => stats(this.state));
  }

  /** Up to `limit` (≤ 1000) unexpired messages of `topic` from `fromOffset`. */
  async readMessages(topic: string, fromOffset: number, limit: number): Promise<StoredMessage[]> {
    return this.read(() => readMessages(this.state, this.store.db, topic, fromOffset, limit));
  }

  /**
   * The messages of a deliver result's `delivered` items (of `subscription`),
   * ready to push: aligned with `items`, undefined where the message is gone.
   */
  async readDeliveries(subscription: string, items: readonly DeliveryRef[]): Promise<(DeliveredMessage | undefined)[]> {
    return this.read(() => readDeliveries(this.state, this.store.db, subscription, items));
  }

  /**
   * The next offset of `name` (0 for a missing topic), read from memory
   * without waiting for the lock: a cheap "anything new?" check before
   * reading messages.
   */
  topicNextOffset(name: string): number {
    return this.state.topicsByName.get(name)?.nextOffset ?? 0;
  }

  /** Per-topic and per-subscription figures for /metrics. */
  async figures(): Promise<BrokerFigures> {
    return this.read(async () => metricsSnapshot(this.state));
  }

  /** Dead letters of `topic`. */
  async dlqList(topic: string, opts: { afterId?: number; limit?: number } = {}): Promise<DlqEntry[]> {
    return this.read(() => dlqList(this.state, this.store.db, topic, opts));
  }

  /** SHA-256 of every key and value: equal on replicas at the same applied index. */
  async digest(): Promise<string> {
    return this.read(() => this.store.digest());
  }

  /** The database, for tests and tools that inspect raw state. */
  get rawDb(): BinaryDb {
    return this.store.db;
  }

  private async read<T>(fn: () => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      this.checkUsable();
      return fn();
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(() => undefined, () => undefined);
    return result;
  }

  private checkUsable(): void {
    if (this.closed) throw new RaftbusError("SHUTTING_DOWN", "broker is closed");
    if (this.failure !== undefined) {
      throw new Error(`broker state machine stopped after a failed apply; restart the node: ${String(this.failure)}`);
    }
  }
}

/** The snapshot's own meta record must say it holds the state at `meta.index`. */
function checkSnapshotIndex(metaBytes: Uint8Array | undefined, meta: SnapshotMeta): void {
  let index = 0;
  if (metaBytes !== undefined) {
    try {
      index = decodeMeta(metaBytes).appliedIndex;
    } catch (err) {
      throw new SnapshotFormatError(`its meta record is unreadable: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (index !== meta.index) throw new SnapshotFormatError(`it holds broker state at index ${index}, its metadata says ${meta.index}`);
}

/**
 * The broker's in-memory state: caches of what LevelDB holds, rebuilt from it
 * at open (and after a restore), never the other way round. Small and bounded
 * by design: topic and subscription records, outstanding deliveries (≤
 * maxInFlight each) and the subscription index. Messages, pending queues,
 * dedup records and dead letters stay on disk.
 *
 * Changes made while applying are mirrored into the apply call's Txn; topic
 * and subscription records are marked dirty and written once per call.
 */
import { SubscriptionIndex } from "../pattern/subscription-index.ts";
import { assert } from "../raft-api.ts";
import { META_KEY, TAG, familyRange, memberKey, readU32, signingKeyKey, subCountersKey, subKey, topicKey, userKey } from "../store/keys.ts";
import {
  decodeMember, decodeMeta, decodeOutstanding, decodeSigningKey, decodeSubscription, decodeTopic, decodeUser, emptyMeta, encodeMeta,
  encodeSubscriptionCounters, encodeMember, encodeSigningKey, encodeSubscriptionSpec, encodeTopic, encodeUser,
} from "../store/records.ts";
import type { MemberRecord, MetaRecord, SigningKeyRecord, TopicRecord, UserRecord } from "../store/records.ts";
import type { BinaryDb, Txn } from "../store/txn.ts";
import { SubState } from "./subscription.ts";

/** Everything apply() and the queries read without touching the disk. */
export class BrokerState {
  meta: MetaRecord = emptyMeta();
  readonly topicsByName = new Map<string, TopicRecord>();
  readonly topicsById = new Map<number, TopicRecord>();
  readonly subsByName = new Map<string, SubState>();
  readonly subsById = new Map<number, SubState>();
  /** Pattern → subscriptions, keyed by subscription name. */
  readonly index = new SubscriptionIndex<SubState>();
  /** The replicated address book: member id → where it listens (cluster version ≥ 2). */
  readonly members = new Map<string, MemberRecord>();
  /** Users by name (cluster version ≥ 4): token hashes and grants. */
  readonly users = new Map<string, UserRecord>();
  /** Topic signing keys by name (cluster version ≥ 5). */
  readonly signingKeys = new Map<string, SigningKeyRecord>();
  /**
   * Matching work apply has done on published messages (counts only; no
   * result depends on them): filters evaluated and payloads parsed for them.
   * With the index's regexRuns they show what one publish costs.
   */
  readonly matchingWork = { filterEvaluations: 0, payloadParses: 0 };
  /** Topic id → subscriptions holding references to it (to drop them when a message goes). */
  private readonly holders = new Map<number, Set<SubState>>();
  /**
   * The only subscriptions a dispatch round can find work for, so the
   * leader's delivery pump looks at these instead of every subscription
   * (with 10,000 idle subscriptions, a round per apply made subscribing
   * quadratic; with 10,000 waiting for acks, it held the leader's loop past
   * the election timeout): those with pending references (first
   * deliveries), and those with deliveries waiting for a retry.
   */
  private readonly withPending = new Set<SubState>();
  private readonly withRetries = new Set<SubState>();
  /** Subscriptions with a filter: each is evaluated on every message its pattern selects. */
  private filterSubs = 0;
  /** Ephemeral subscriptions by owning session (session expiry reads these, not every subscription). */
  private readonly ephemeralBySession = new Map<string, Set<SubState>>();
  /** Durable subscriptions per owner (durableSubscriptionsPerUserMax is checked against it in apply). */
  private readonly durableByOwner = new Map<string, number>();
  private readonly dirtyTopics = new Set<TopicRecord>();
  private readonly dirtySubs = new Set<SubState>();
  private readonly dirtySubSpecs = new Set<SubState>();

  /** Loads the state from the database (open and after restore). */
  static async load(db: BinaryDb): Promise<BrokerState> {
    const s = new BrokerState();
    const meta = (await db.get(META_KEY)) as Uint8Array | undefined;
    if (meta !== undefined) s.meta = decodeMeta(meta);
    for await (const [, v] of db.iterator(familyRange(TAG.topic))) s.addTopic(decodeTopic(v));
    const specs = new Map<number, Uint8Array>();
    for await (const [k, v] of db.iterator(familyRange(TAG.sub))) specs.set(readU32(k, 1), v);
    for await (const [k, v] of db.iterator(familyRange(TAG.subCounters))) {
      const spec = specs.get(readU32(k, 1));
      assert(spec !== undefined, "subscription counters without a subscription read back from disk");
      specs.delete(readU32(k, 1));
      s.addSub(new SubState(decodeSubscription(spec, v)));
    }
    assert(specs.size === 0, "subscription without counters read back from disk");
    for await (const [k, v] of db.iterator(familyRange(TAG.outstanding))) {
      const o = decodeOutstanding(v);
      const sub = s.subsById.get(readU32(k, 1));
      assert(sub !== undefined, "outstanding delivery of an unknown subscription read back from disk");
      sub.putOutstanding(o);
    }
    for (const sub of s.subsById.values()) for (const tid of sub.heldTopics()) s.updateHolder(sub, tid);
    for await (const [, v] of db.iterator(familyRange(TAG.member))) {
      const m = decodeMember(v);
      s.members.set(m.id, m);
    }
    for await (const [, v] of db.iterator(familyRange(TAG.user))) {
      const u = decodeUser(v);
      s.users.set(u.name, u);
    }
    for await (const [, v] of db.iterator(familyRange(TAG.signingKey))) {
      const k = decodeSigningKey(v);
      s.signingKeys.set(k.name, k);
    }
    return s;
  }

  /** Topics in id order (the canonical order for anything that changes state). */
  sortedTopics(): TopicRecord[] {
    return [...this.topicsById.values()].sort((a, b) => a.id - b.id);
  }

  /** Subscriptions in id order (the canonical order for anything that changes state). */
  sortedSubs(): SubState[] {
    return [...this.subsById.values()].sort((a, b) => a.id - b.id);
  }

  /**
   * The subscriptions passing `keep`, in id order: sortedSubs().filter(keep)
   * without sorting the ones left out (a tick looks at few of 10,000).
   */
  sortedSubsWhere(keep: (sub: SubState) => boolean): SubState[] {
    const out: SubState[] = [];
    for (const sub of this.subsById.values()) if (keep(sub)) out.push(sub);
    return out.sort((a, b) => a.id - b.id);
  }

  /** Registers a topic. */
  addTopic(t: TopicRecord): void {
    assert(!this.topicsByName.has(t.name) && !this.topicsById.has(t.id), () => `topic ${t.name} registered twice`);
    this.topicsByName.set(t.name, t);
    this.topicsById.set(t.id, t);
  }

  /** Unregisters a topic and deletes its record. */
  removeTopic(txn: Txn, t: TopicRecord): void {
    this.topicsByName.delete(t.name);
    this.topicsById.delete(t.id);
    this.holders.delete(t.id);
    this.dirtyTopics.delete(t);
    txn.del(topicKey(t.id));
  }

  /** Registers a subscription. */
  addSub(sub: SubState): void {
    assert(!this.subsByName.has(sub.name) && !this.subsById.has(sub.id), () => `subscription ${sub.name} registered twice`);
    this.subsByName.set(sub.name, sub);
    this.subsById.set(sub.id, sub);
    this.index.add(sub.name, sub.pattern, sub);
    if (sub.filter !== undefined) this.filterSubs++;
    const owner = durableOwner(sub);
    if (owner !== undefined) this.durableByOwner.set(owner, (this.durableByOwner.get(owner) ?? 0) + 1);
    const session = ephemeralSession(sub);
    if (session !== undefined) {
      const set = this.ephemeralBySession.get(session);
      if (set === undefined) this.ephemeralBySession.set(session, new Set([sub]));
      else set.add(sub);
    }
  }

  /** Unregisters a subscription and deletes its record. */
  removeSub(txn: Txn, sub: SubState): void {
    this.subsByName.delete(sub.name);
    this.subsById.delete(sub.id);
    this.index.remove(sub.name);
    for (const tid of sub.heldTopics()) this.holders.get(tid)?.delete(sub);
    this.withPending.delete(sub);
    this.withRetries.delete(sub);
    if (sub.filter !== undefined) this.filterSubs--;
    const session = ephemeralSession(sub);
    const set = session === undefined ? undefined : this.ephemeralBySession.get(session);
    if (session !== undefined && set !== undefined) {
      set.delete(sub);
      if (set.size === 0) this.ephemeralBySession.delete(session);
    }
    const owner = durableOwner(sub);
    if (owner !== undefined) {
      const n = (this.durableByOwner.get(owner) ?? 0) - 1;
      assert(n >= 0, () => `durable subscription count of '${owner}' underflow`);
      if (n === 0) this.durableByOwner.delete(owner);
      else this.durableByOwner.set(owner, n);
    }
    this.dirtySubs.delete(sub);
    this.dirtySubSpecs.delete(sub);
    txn.del(subKey(sub.id));
    txn.del(subCountersKey(sub.id));
  }

  /** Re-evaluates whether `sub` holds references to topic `tid`. Call after changing them. */
  updateHolder(sub: SubState, tid: number): void {
    let set = this.holders.get(tid);
    if (sub.holds(tid)) {
      if (set === undefined) {
        set = new Set();
        this.holders.set(tid, set);
      }
      set.add(sub);
    } else if (set !== undefined) {
      set.delete(sub);
      if (set.size === 0) this.holders.delete(tid);
    }
    if (sub.pendingTotal > 0) this.withPending.add(sub);
    else this.withPending.delete(sub);
    if (sub.hasRetries) this.withRetries.add(sub);
    else this.withRetries.delete(sub);
  }

  /** Subscriptions holding pending references: the only ones with a first delivery to make. */
  subsWithPending(): ReadonlySet<SubState> {
    return this.withPending;
  }

  /** Subscriptions with deliveries waiting for a retry (due or not). */
  subsWithRetries(): ReadonlySet<SubState> {
    return this.withRetries;
  }

  /** Replaces `sub`'s filter (updateSubscription), keeping the count of filtered subscriptions. */
  setSubFilter(sub: SubState, filter: SubState["filter"]): void {
    this.filterSubs += (filter !== undefined ? 1 : 0) - (sub.filter !== undefined ? 1 : 0);
    sub.filter = filter;
  }

  /**
   * Matchers that may run on any published message whatever its topic: the
   * subscriptions with a filter and the regexes with no literal prefix. An
   * upper bound the leader sizes publish entries by (a count, not a cost).
   */
  matchersPerMessageMax(): number {
    return this.filterSubs + this.index.unprefixedRegexes;
  }

  /** Session ids owning ephemeral subscriptions, sorted. */
  ephemeralSessionIds(): string[] {
    return [...this.ephemeralBySession.keys()].sort();
  }

  /** The ephemeral subscriptions of session `sessionId`, in id order (the canonical order). */
  ephemeralSubsOf(sessionId: string): SubState[] {
    return [...(this.ephemeralBySession.get(sessionId) ?? [])].sort((a, b) => a.id - b.id);
  }

  /** Durable subscriptions owned by `owner`. */
  durableCountOf(owner: string): number {
    return this.durableByOwner.get(owner) ?? 0;
  }

  /** Subscriptions holding references to topic `tid`, in id order. */
  holdersOf(tid: number): SubState[] {
    const set = this.holders.get(tid);
    return set === undefined ? [] : [...set].sort((a, b) => a.id - b.id);
  }

  /** Records where member `m.id` listens. */
  putMember(txn: Txn, m: MemberRecord): void {
    this.members.set(m.id, m);
    txn.put(memberKey(m.id), encodeMember(m));
  }

  /** Forgets member `id`'s address. */
  removeMember(txn: Txn, id: string): void {
    if (!this.members.delete(id)) return;
    txn.del(memberKey(id));
  }

  /** Records user `u` (created or changed). */
  putUser(txn: Txn, u: UserRecord): void {
    this.users.set(u.name, u);
    txn.put(userKey(u.name), encodeUser(u));
  }

  /** Forgets user `name`. */
  removeUser(txn: Txn, name: string): void {
    if (!this.users.delete(name)) return;
    txn.del(userKey(name));
  }

  /** Records a topic signing key. */
  putSigningKey(txn: Txn, k: SigningKeyRecord): void {
    this.signingKeys.set(k.name, k);
    txn.put(signingKeyKey(k.name), encodeSigningKey(k));
  }

  /** Forgets topic signing key `name`. */
  removeSigningKey(txn: Txn, name: string): void {
    if (!this.signingKeys.delete(name)) return;
    txn.del(signingKeyKey(name));
  }

  /** Marks a topic record for writing at the end of the apply call. */
  touchTopic(t: TopicRecord): void {
    this.dirtyTopics.add(t);
  }

  /** Marks a subscription's counters for writing at the end of the apply call. */
  touchSub(sub: SubState): void {
    this.dirtySubs.add(sub);
  }

  /** Marks a subscription's spec (and counters) for writing at the end of the apply call. */
  touchSubSpec(sub: SubState): void {
    this.dirtySubSpecs.add(sub);
    this.dirtySubs.add(sub);
  }

  /** Writes dirty records and the meta record into `txn`. */
  flush(txn: Txn): void {
    for (const t of this.dirtyTopics) txn.put(topicKey(t.id), encodeTopic(t));
    for (const sub of this.dirtySubSpecs) txn.put(subKey(sub.id), encodeSubscriptionSpec(sub.rec));
    for (const sub of this.dirtySubs) txn.put(subCountersKey(sub.id), encodeSubscriptionCounters(sub.rec));
    this.dirtyTopics.clear();
    this.dirtySubs.clear();
    this.dirtySubSpecs.clear();
    txn.put(META_KEY, encodeMeta(this.meta));
  }
}

/** The session an ephemeral subscription dies with, or undefined. */
function ephemeralSession(sub: SubState): string | undefined {
  return sub.spec.ephemeral ? sub.spec.sessionId : undefined;
}

/** The owner a durable subscription counts against, or undefined (ephemeral or unowned). */
function durableOwner(sub: SubState): string | undefined {
  return sub.spec.ephemeral ? undefined : sub.spec.owner;
}

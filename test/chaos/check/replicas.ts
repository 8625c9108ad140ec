/**
 * Reads what each replica holds after the run, from the node's own data
 * directory (the node is stopped first): its Raft log and hard state, and
 * its broker state. Replicas stopped at different applied indexes are
 * brought to a common index on a copy of their broker directory by
 * applying committed entries — from their own log when it holds them — so
 * their digests can be compared as equals.
 */
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BrokerStateMachine } from "@raftbus/broker";
import { type Entry, LevelStorage } from "@raftbus/raft";
import { CHECKED_TOPICS, parsePayload } from "../workload/spec.ts";

/** One stored message as the checker sees it. */
export interface StoredRef {
  readonly offset: number;
  /** The workload key (`?id` when the payload is not a workload message). */
  readonly key: string;
  readonly id: string;
}

/** What one replica holds. */
export interface ReplicaState {
  readonly id: string;
  readonly error?: string;
  readonly commitIndex: number;
  readonly lastIndex: number;
  /** Broker applied index as found on disk. */
  readonly appliedIndex: number;
  /** Index the copy was brought to for comparison, and where the missing entries came from. */
  readonly comparedAt: number;
  readonly replayedFrom?: string;
  readonly digest: string;
  /** Hash per Raft index 1..commitIndex: `term:sha256(type,data)`. */
  readonly committed: readonly string[];
  readonly topicNames: readonly string[];
  readonly topics: Readonly<Record<string, readonly StoredRef[]>>;
  readonly subscriptions: readonly string[];
  /** Dead letters per checked topic: key and subscription. */
  readonly dlq: Readonly<Record<string, readonly { key: string; subscription: string; offset: number }[]>>;
}

const PAGE = 1000;

function entryHash(e: Entry): string {
  return `${e.term}:${createHash("sha256").update(e.type).update(e.data).digest("hex").slice(0, 16)}`;
}

interface RaftView {
  readonly storage: LevelStorage;
  readonly commit: number;
  readonly hashes: string[];
}

async function openRaft(id: string, dataDir: string): Promise<RaftView> {
  const storage = await LevelStorage.open(join(dataDir, "raft"), { nodeId: id });
  const commit = storage.initialState().hardState.commit;
  const hashes: string[] = [];
  for (let i = storage.firstIndex(); i <= commit; i += PAGE) {
    for (const e of storage.entries(i, Math.min(commit + 1, i + PAGE), Number.MAX_SAFE_INTEGER)) hashes[e.index - 1] = entryHash(e);
  }
  return { storage, commit, hashes };
}

async function readBroker(sm: BrokerStateMachine): Promise<Pick<ReplicaState, "digest" | "topicNames" | "topics" | "subscriptions" | "dlq">> {
  const topicNames = (await sm.listTopics()).map((t) => t.name).sort();
  const topics: Record<string, StoredRef[]> = {};
  const dlq: Record<string, { key: string; subscription: string; offset: number }[]> = {};
  for (const topic of CHECKED_TOPICS) {
    if (!topicNames.includes(topic)) continue;
    const refs: StoredRef[] = [];
    for (let from = 0; ; ) {
      const page = await sm.readMessages(topic, from, PAGE);
      for (const m of page) refs.push({ offset: m.offset, id: m.id, key: parsePayload(m.payload)?.k ?? `?${m.id}` });
      if (page.length < PAGE) break;
      from = page[page.length - 1]!.offset + 1;
    }
    topics[topic] = refs;
    const dead: { key: string; subscription: string; offset: number }[] = [];
    for (let afterId: number | undefined; ; ) {
      const page = await sm.dlqList(topic, { ...(afterId !== undefined ? { afterId } : {}), limit: PAGE });
      for (const d of page) dead.push({ key: parsePayload(d.message.payload)?.k ?? `?${d.message.id}`, subscription: d.subscription, offset: d.offset });
      if (page.length < PAGE) break;
      afterId = page[page.length - 1]!.id;
    }
    dlq[topic] = dead;
  }
  const subscriptions = (await sm.listSubscriptions()).map((s) => s.name).sort();
  return { digest: await sm.digest(), topicNames, topics, subscriptions, dlq };
}

/**
 * Read every replica. `workDir` receives the broker copies that are
 * replayed (the originals are left as the run wrote them).
 */
export async function readReplicas(nodes: readonly { id: string; dataDir: string }[], workDir: string): Promise<ReplicaState[]> {
  const rafts = new Map<string, RaftView>();
  const errors = new Map<string, string>();
  for (const n of nodes) {
    try {
      rafts.set(n.id, await openRaft(n.id, n.dataDir));
    } catch (err) {
      errors.set(n.id, `raft log unreadable: ${(err as Error).message}`);
    }
  }
  const copies = new Map<string, BrokerStateMachine>();
  try {
    for (const n of nodes) {
      if (errors.has(n.id)) continue;
      const copy = join(workDir, n.id);
      rmSync(copy, { recursive: true, force: true });
      mkdirSync(workDir, { recursive: true });
      cpSync(join(n.dataDir, "broker"), copy, { recursive: true });
      try {
        copies.set(n.id, await BrokerStateMachine.open(copy));
      } catch (err) {
        errors.set(n.id, `broker state unreadable: ${(err as Error).message}`);
      }
    }
    const applied = new Map([...copies].map(([id, sm]) => [id, sm.appliedIndex()]));
    const target = Math.max(0, ...applied.values());
    const refId = [...applied].find(([, a]) => a === target)?.[0];
    const out: ReplicaState[] = [];
    for (const n of nodes) {
      const raft = rafts.get(n.id);
      const sm = copies.get(n.id);
      if (raft === undefined || sm === undefined) {
        out.push({ id: n.id, error: errors.get(n.id) ?? "unreadable", commitIndex: raft?.commit ?? 0, lastIndex: raft?.storage.lastIndex() ?? 0,
          appliedIndex: 0, comparedAt: 0, digest: "", committed: raft?.hashes ?? [], topicNames: [], topics: {}, subscriptions: [], dlq: {} });
        continue;
      }
      const appliedIndex = sm.appliedIndex();
      let replayedFrom: string | undefined;
      let error: string | undefined;
      if (appliedIndex > raft.storage.lastIndex() && appliedIndex > raft.storage.snapshot().index) {
        error = `its broker applied up to ${appliedIndex} but its Raft log ends at ${raft.storage.lastIndex()}: entries it had were lost from disk`;
      }
      if (appliedIndex < target && refId !== undefined) {
        try {
          replayedFrom = await catchUp(sm, appliedIndex, target, raft, rafts.get(refId)!, n.id, refId);
        } catch (err) {
          error ??= `could not be brought from index ${appliedIndex} to ${target}: ${(err as Error).message}`;
        }
      }
      out.push({
        ...(error !== undefined ? { error } : {}),
        id: n.id, commitIndex: raft.commit, lastIndex: raft.storage.lastIndex(), appliedIndex, comparedAt: sm.appliedIndex(),
        ...(replayedFrom !== undefined ? { replayedFrom } : {}), committed: raft.hashes, ...(await readBroker(sm)),
      });
    }
    return out;
  } finally {
    for (const sm of copies.values()) await sm.close().catch(() => undefined);
    for (const r of rafts.values()) await r.storage.close().catch(() => undefined);
  }
}

/** Apply entries (from, to] to `sm`: from the node's own log where it matches the reference, else from the reference. */
async function catchUp(sm: BrokerStateMachine, from: number, to: number, own: RaftView, ref: RaftView, ownId: string, refId: string): Promise<string> {
  const ownHas = own.storage.lastIndex() >= to && own.storage.firstIndex() <= from + 1 &&
    own.storage.entries(from + 1, to + 1, Number.MAX_SAFE_INTEGER).every((e) => ref.hashes[e.index - 1] === undefined || ref.hashes[e.index - 1] === entryHash(e));
  const source = ownHas ? own : ref;
  for (let i = from + 1; i <= to; i += PAGE) await sm.apply(source.storage.entries(i, Math.min(to + 1, i + PAGE), Number.MAX_SAFE_INTEGER));
  return ownHas ? ownId : refId;
}

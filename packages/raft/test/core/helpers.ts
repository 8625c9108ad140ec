/**
 * Helpers for unit tests that drive one RaftCore (or two) by hand: build a
 * core over a MemoryStorage with a given log and hard state, play the driver
 * (persist the Ready, then advance), and build messages.
 */
import type { RaftConfig } from "../../src/core/config.ts";
import type { Rand } from "../../src/core/rand.ts";
import { RaftCore } from "../../src/core/raft.ts";
import type {
  AppendMessage, AppendResponseMessage, ConfState, Entry, HardState, HeartbeatMessage, HeartbeatResponseMessage,
  Message, NodeId, Ready, VoteMessage, VoteResponseMessage,
} from "../../src/core/types.ts";
import { MemoryStorage } from "../../src/storage/memory-storage.ts";

/** A Rand that always answers `value` (clamped into range) and records what it was asked. */
export class FixedRand implements Rand {
  readonly asked: number[] = [];
  constructor(public value = 0) {}
  int(n: number): number {
    this.asked.push(n);
    return Math.min(this.value, n - 1);
  }
}

/** Base election timeout used by these tests. */
export const T = 10;

/** What a test core is built from. */
export interface CoreSpec {
  readonly id?: NodeId;
  readonly voters?: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  /** Terms of the log entries at indexes 1, 2, … (all "normal", one byte of data). */
  readonly logTerms?: readonly number[];
  readonly hardState?: HardState;
  readonly raft?: Omit<Partial<RaftConfig>, "id">;
  readonly rand?: Rand;
}

/** A core and its disk. */
export interface TestNode {
  readonly core: RaftCore;
  readonly storage: MemoryStorage;
  readonly rand: Rand;
}

/** Entries with the given terms at indexes from, from+1, … */
export function entries(terms: readonly number[], from = 1): Entry[] {
  return terms.map((term, i) => ({ index: from + i, term, type: "normal" as const, data: new Uint8Array([from + i]) }));
}

/** A core over a MemoryStorage holding `logTerms` and `hardState`. Defaults: n1 of n1,n2,n3, pre-vote and check-quorum on. */
export function newNode(spec: CoreSpec = {}): TestNode {
  const id = spec.id ?? "n1";
  const conf: ConfState = { voters: [...(spec.voters ?? ["n1", "n2", "n3"])], learners: [...(spec.learners ?? [])] };
  const storage = new MemoryStorage(conf);
  storage.append(entries(spec.logTerms ?? []));
  const lastTerm = spec.logTerms?.[spec.logTerms.length - 1] ?? 0;
  storage.setHardState(spec.hardState ?? { term: lastTerm, vote: null, commit: 0 });
  const rand = spec.rand ?? new FixedRand(0);
  const core = new RaftCore({ electionTicks: T, heartbeatTicks: 1, ...spec.raft, id }, storage, rand);
  return { core, storage, rand };
}

/** Play the driver once: persist the Ready (snapshot, entries, hard state), then advance. */
export function persist(n: TestNode): Ready {
  const rd = n.core.ready();
  n.storage.write({ ...(rd.snapshot ? { snapshot: rd.snapshot } : {}), entries: rd.entries, ...(rd.hardState ? { hardState: rd.hardState } : {}) });
  n.core.advance(rd);
  return rd;
}

/** Persist and advance until the core has nothing more to do; all messages it sent. */
export function drain(n: TestNode): Message[] {
  const out: Message[] = [];
  while (n.core.hasReady()) out.push(...persist(n).messages);
  return out;
}

/** Tick `ticks` times, draining after each; all messages sent. */
export function tickN(n: TestNode, ticks: number): Message[] {
  const out: Message[] = [];
  for (let i = 0; i < ticks; i++) {
    n.core.tick();
    out.push(...drain(n));
  }
  return out;
}

/** Step one message and drain; the messages sent in answer. */
export function stepDrain(n: TestNode, m: Message): Message[] {
  n.core.step(m);
  return drain(n);
}

/** The message interface whose `type` admits K (VoteMessage for both "vote" and "preVote"). */
export type MessageOf<K extends Message["type"]> = Message extends infer M
  ? M extends { readonly type: infer U } ? K extends U ? M : never : never
  : never;

/** The messages of one type, typed. */
export function ofType<K extends Message["type"]>(ms: readonly Message[], type: K): MessageOf<K>[] {
  return ms.filter((m): m is MessageOf<K> => m.type === type);
}

/** Make `n` leader: time out, collect (pre-)votes from enough peers, persist. Returns the messages of the new term. */
export function electLeader(n: TestNode): Message[] {
  const c = n.core;
  const peers = c.conf.voters.filter((v) => v !== c.id);
  const need = Math.floor(c.conf.voters.length / 2);
  let sent = tickN(n, 2 * T);
  if (c.role === "preCandidate") {
    for (const p of peers.slice(0, need)) sent = stepDrain(n, preVoteResp(p, c.id, c.term + 1, false));
  }
  if (c.role === "candidate") {
    for (const p of peers.slice(0, need)) sent = stepDrain(n, voteResp(p, c.id, c.term, false));
  }
  if (c.role !== "leader") throw new Error(`${c.id} did not become leader (role ${c.role})`);
  return sent;
}

/** A follower's successful append answer: it holds the leader's log up to `index`. */
export function ackAppend(from: NodeId, to: NodeId, term: number, index: number): AppendResponseMessage {
  return { type: "appResp", from, to, term, reject: false, index, hintIndex: 0, hintTerm: 0 };
}

export function app(from: NodeId, to: NodeId, term: number, prevIndex: number, prevTerm: number, es: readonly Entry[], commit: number): AppendMessage {
  return { type: "app", from, to, term, prevIndex, prevTerm, entries: es, commit };
}

export function vote(from: NodeId, to: NodeId, term: number, lastIndex: number, lastTerm: number, pre = false): VoteMessage {
  return { type: pre ? "preVote" : "vote", from, to, term, lastIndex, lastTerm, transfer: false };
}

export function voteResp(from: NodeId, to: NodeId, term: number, reject: boolean): VoteResponseMessage {
  return { type: "voteResp", from, to, term, reject };
}

export function preVoteResp(from: NodeId, to: NodeId, term: number, reject: boolean): VoteResponseMessage {
  return { type: "preVoteResp", from, to, term, reject };
}

export function heartbeat(from: NodeId, to: NodeId, term: number, commit: number, readSeq = 0): HeartbeatMessage {
  return { type: "heartbeat", from, to, term, commit, readSeq };
}

export function heartbeatResp(from: NodeId, to: NodeId, term: number, readSeq = 0): HeartbeatResponseMessage {
  return { type: "heartbeatResp", from, to, term, readSeq };
}

/** Terms of the core's log at indexes 1..lastIndex. */
export function logTerms(n: TestNode): (number | undefined)[] {
  const last = n.core.log.lastIndex();
  return Array.from({ length: last }, (_, i) => n.core.log.term(i + 1));
}

/**
 * Publish coalescing (group commit for publishes): every publish request the
 * leader accepts while a Raft turn is busy joins ONE open batch, proposed
 * lazily — the batch is closed and encoded, once, at the moment the driver
 * takes it into its next turn. So concurrent single-message publishes from
 * any number of clients become one command, one log entry and one apply per
 * turn, instead of one each.
 *
 * Each request is stamped and validated on its own before it joins (a bad
 * message fails its request, not its neighbours'); the merged batch is not
 * validated again on the leader. Outcomes come back in request order, each
 * request getting the slice of the batch's results that belongs to it.
 *
 * Entries are bounded (`messagesMax`, `bytesMax` of payload and headers):
 * every replica applies one entry without yielding, so a 1,000-message,
 * 8 MiB request as ONE entry held every node's event loop for as long as it
 * took (up to ~2 s under a flood, close to the election timeout). A request
 * that fits one entry stays in one entry (all of it commits, or none); a
 * larger one is split into consecutive entries, as Kafka bounds one append
 * by `message.max.bytes` and NATS one message by `max_payload`. Its
 * messages still get one outcome each, in order: if only some of its
 * entries commit (the leader changed in between), the others' messages
 * answer with the proposal's error (NOT_LEADER, PROPOSAL_DROPPED…, which the
 * SDK resends with the same ids and producer sequences, so what did commit
 * is not stored twice); if none commits, the request fails as a whole.
 * A single message larger than `bytesMax` goes alone in its entry. With
 * many filter subscriptions an entry holds fewer messages (entryMessagesMax):
 * every filter may have to run on every message of it.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import type { ErrorInfo } from "@raftbus/client/protocol";
import { encodeCommand } from "../../commands/codec.ts";
import type { CommandMessage, PublishCommand } from "../../commands/types.ts";
import { assert } from "../../raft-api.ts";
import type { CommandResult, PublishOutcome } from "../../state/results.ts";

/**
 * Most messages in one publish entry. With 100 filter subscriptions on a
 * wildcard a message costs each replica ~50 µs to fan out, so an entry of
 * 256 holds an apply for milliseconds, not the ~1,000 of a whole batch.
 */
export const ENTRY_MESSAGES_MAX = 256;
/** Most payload and header bytes in one publish entry (a larger single message goes alone). */
export const ENTRY_BYTES_MAX = 1024 * 1024;
/**
 * Most matcher runs (filter evaluations, prefix-less regexes) one publish
 * entry may cause on a replica, counting every matcher that may run on any
 * message: 256 messages with 100 of them. With 10,000 filter subscriptions
 * an entry holds 2 messages instead of 256 (whose fan-out took a replica
 * about a second).
 */
export const ENTRY_MATCHER_RUNS_MAX = ENTRY_MESSAGES_MAX * 100;

/** Most messages in one publish entry when `matchers` filters and prefix-less regexes may run on each message. */
export function entryMessagesMax(matchers: number): number {
  return Math.max(1, Math.min(ENTRY_MESSAGES_MAX, Math.floor(ENTRY_MATCHER_RUNS_MAX / Math.max(1, matchers))));
}

/** What the coalescer needs. */
export interface CoalescerParts {
  /**
   * Propose an entry whose bytes are produced by `encode` when the driver
   * takes it into a turn (RaftNode.propose with a function); resolves with
   * the applied result.
   */
  readonly propose: (encode: () => Uint8Array) => Promise<unknown>;
  /** Most messages in one entry (one merged command), asked per request (it may follow the subscriptions held). */
  readonly messagesMax: () => number;
  /** Most payload and header bytes in one entry (a larger single message goes alone). */
  readonly bytesMax: number;
  /** The wire form of a proposal's error, for the messages of a split request whose entry failed. */
  readonly describe: (err: unknown) => ErrorInfo;
}

interface Part {
  readonly start: number;
  readonly count: number;
  resolve(outcomes: PublishOutcome[]): void;
  reject(err: unknown): void;
}

interface OpenBatch {
  readonly first: PublishCommand;
  readonly messages: CommandMessage[];
  readonly parts: Part[];
  now: number;
  bytes: number;
  /** Set when the driver took the batch: later requests open a new one. */
  closed: boolean;
}

/** What the publish handler may do: join a validated command to the open batch. */
export interface PublishPort {
  publish(command: PublishCommand): Promise<PublishOutcome[]>;
}

/** Merges concurrent publish commands into one per driver turn; see the module comment. */
export class PublishCoalescer implements PublishPort {
  private open: OpenBatch | undefined;
  /** Commands proposed so far, and requests they carried (for metrics and tests). */
  readonly stats = { commands: 0, requests: 0, messages: 0, splitRequests: 0 };

  constructor(private readonly p: CoalescerParts) {
    assert(p.bytesMax >= 1, "coalescer limits must be positive");
  }

  /**
   * Joins a validated publish command to the open batch (split over several
   * entries when it exceeds one; see the module comment); resolves with its
   * messages' outcomes once committed.
   */
  publish(command: PublishCommand): Promise<PublishOutcome[]> {
    const messagesMax = this.p.messagesMax();
    assert(messagesMax >= 1, "entry message limit must be positive");
    const chunks = splitMessages(command.messages, messagesMax, this.p.bytesMax);
    if (chunks.length === 1) return this.join(command, messagesMax);
    this.stats.splitRequests += 1;
    const parts = chunks.map((messages) => this.join({ ...command, messages }, messagesMax));
    return Promise.allSettled(parts).then((settled) => {
      if (settled.every((r) => r.status === "rejected")) throw (settled[0] as PromiseRejectedResult).reason;
      return settled.flatMap((r, i) => r.status === "fulfilled"
        ? r.value
        : (chunks[i] as CommandMessage[]).map((): PublishOutcome => ({ error: this.p.describe(r.reason) })));
    });
  }

  /** Joins one entry's worth of messages to the open batch, or opens the next. */
  private join(command: PublishCommand, messagesMax: number): Promise<PublishOutcome[]> {
    const bytes = payloadBytes(command);
    let batch = this.open;
    if (batch === undefined || batch.closed || !fits(batch, command, bytes, messagesMax, this.p.bytesMax)) batch = this.start(command);
    else {
      batch.messages.push(...command.messages);
      batch.now = Math.max(batch.now, command.now);
      batch.bytes += bytes;
    }
    const start = batch.messages.length - command.messages.length;
    return new Promise<PublishOutcome[]>((resolve, reject) => {
      (batch as OpenBatch).parts.push({ start, count: command.messages.length, resolve, reject });
    });
  }

  private start(command: PublishCommand): OpenBatch {
    if (this.open !== undefined) this.open.closed = true;
    const batch: OpenBatch = { first: command, messages: [...command.messages], parts: [], now: command.now, bytes: payloadBytes(command), closed: false };
    this.open = batch;
    this.p.propose(() => this.close(batch)).then(
      (result) => settle(batch, result),
      (err: unknown) => {
        // Refused before or after the driver took it: either way no later request may join it.
        batch.closed = true;
        if (this.open === batch) this.open = undefined;
        for (const part of batch.parts) part.reject(err);
      },
    );
    return batch;
  }

  /** The driver takes the batch: close it and encode the merged command, once. */
  private close(batch: OpenBatch): Uint8Array {
    batch.closed = true;
    if (this.open === batch) this.open = undefined;
    this.stats.commands += 1;
    this.stats.requests += batch.parts.length;
    this.stats.messages += batch.messages.length;
    const merged: PublishCommand = { ...batch.first, now: batch.now, messages: batch.messages };
    return encodeCommand(merged);
  }
}

/** Whether `command` may join `batch`: same settings, and the merged batch stays within the limits. */
function fits(batch: OpenBatch, command: PublishCommand, bytes: number, messagesMax: number, bytesMax: number): boolean {
  const a = batch.first;
  return batch.messages.length + command.messages.length <= messagesMax && batch.bytes + bytes <= bytesMax &&
    a.autoCreate === command.autoCreate && a.dedupWindowMs === command.dedupWindowMs &&
    sameRetention(a.defaultRetention, command.defaultRetention);
}

function sameRetention(a: PublishCommand["defaultRetention"], b: PublishCommand["defaultRetention"]): boolean {
  return a.maxMessages === b.maxMessages && a.maxAgeMs === b.maxAgeMs && a.maxBytes === b.maxBytes;
}

function payloadBytes(command: PublishCommand): number {
  let n = 0;
  for (const m of command.messages) n += messageBytes(m);
  return n;
}

/** Payload and header bytes of a message (header strings counted in UTF-16 units: a bound, not an exact size). */
function messageBytes(m: CommandMessage): number {
  let n = m.payload.length;
  for (const k in m.headers) n += k.length + (m.headers[k] as string).length;
  return n;
}

/** Consecutive runs of `messages`, each within the entry limits (at least one message per run). */
export function splitMessages(messages: readonly CommandMessage[], messagesMax: number, bytesMax: number): CommandMessage[][] {
  const out: CommandMessage[][] = [];
  let run: CommandMessage[] = [];
  let bytes = 0;
  for (const m of messages) {
    const b = messageBytes(m);
    if (run.length > 0 && (run.length >= messagesMax || bytes + b > bytesMax)) {
      out.push(run);
      run = [];
      bytes = 0;
    }
    run.push(m);
    bytes += b;
  }
  if (run.length > 0 || out.length === 0) out.push(run);
  return out;
}

/** Hands each request its slice of the batch's results (or the batch's error). */
function settle(batch: OpenBatch, result: unknown): void {
  const r = result as CommandResult | undefined;
  if (r === undefined || !r.ok || r.type !== "publish") {
    const err = r !== undefined && !r.ok ? RaftbusError.fromInfo(r.error) : new RaftbusError("INTERNAL", "no publish result for an applied batch");
    for (const part of batch.parts) part.reject(err);
    return;
  }
  assert(r.results.length === batch.messages.length, () => `publish batch of ${batch.messages.length} got ${r.results.length} results`);
  for (const part of batch.parts) part.resolve(r.results.slice(part.start, part.start + part.count));
}

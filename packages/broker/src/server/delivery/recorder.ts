/**
 * Group commit for the delivery path (the leader's side of README
 * "Guarantees"): deliveries made, acks and fails of every consumer on every
 * session are gathered and written as ONE `delivery` entry per window. The
 * window is the commit of the previous entry: while one entry is on its way
 * into the log, everything that arrives waits for the next, so under load an
 * entry carries many items and when idle an item goes at once.
 *
 *   pushed(items)      at-least-once / exactly-once: already handed out, recorded afterwards
 *   recordFirst(items) at-most-once: recorded first; resolves with what the log accepted
 *   settle(acks|fails) resolves with each item's outcome once committed
 *
 * A delivery acked before its record left is recorded by the ack alone
 * (apply takes a pending message off the queue as delivered and acked):
 * one item instead of two, and no outstanding record written and deleted.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import type { AckItem, DeliverItem, DeliveryCommand, FailItem } from "../../commands/types.ts";
import { assert } from "../../raft-api.ts";
import type { DeliveredItem, FailOutcome, ResultOf } from "../../state/results.ts";

/** What the recorder needs: a way to propose, the limits, and the leader clock. */
export interface RecorderParts {
  /** Propose a validated delivery command; resolves with its applied result. */
  readonly propose: (command: DeliveryCommand) => Promise<ResultOf<"delivery">>;
  /** Items per entry (the broker's batchItemsMax). */
  readonly itemsPerEntryMax: number;
  /** Items waiting in all; acks and fails beyond it are refused with BACKPRESSURE. */
  readonly itemsWaitingMax: number;
  /** Entries on their way into the log at once. */
  readonly entriesInFlightMax: number;
  readonly now: () => number;
  /** Told about deliveries whose record was lost (proposal failed): their dispatcher reservations end. */
  readonly onUnrecorded: (items: readonly DeliverItem[]) => void;
}

interface Waiting<T> {
  readonly items: readonly T[];
  resolve(outcomes: unknown[]): void;
  reject(err: Error): void;
}

/** What the log accepted of an at-most-once batch. */
export interface RecordedFirst {
  readonly delivered: readonly DeliveredItem[];
}

const keyOf = (i: { subscription: string; topic: string; offset: number }): string => `${i.subscription}\u0000${i.topic}\u0000${i.offset}`;

/** Gathers delivery facts into group-committed entries; see the module comment. */
export class DeliveryRecorder {
  /** Pushes not yet proposed, by subscription/topic/offset (insertion order = push order). */
  private pushes = new Map<string, DeliverItem>();
  private first: Waiting<DeliverItem>[] = [];
  private acks: Waiting<AckItem>[] = [];
  private fails: Waiting<FailItem>[] = [];
  private waitingItems = 0;
  private inFlight = 0;
  private scheduled = false;
  private stopped = false;

  constructor(private readonly p: RecorderParts) {
    assert(p.itemsPerEntryMax >= 1 && p.entriesInFlightMax >= 1, "recorder limits must be positive");
  }

  /** Items gathered and not yet proposed. */
  get waiting(): number {
    return this.waitingItems;
  }

  /** At-least-once / exactly-once deliveries already handed out: record them. */
  pushed(items: readonly DeliverItem[]): void {
    if (this.stopped) return;
    for (const i of items) {
      const k = keyOf(i);
      if (!this.pushes.has(k)) this.waitingItems += 1;
      this.pushes.set(k, i);
    }
    this.schedule();
  }

  /** At-most-once deliveries: record them first; resolves with what the log accepted. */
  recordFirst(items: readonly DeliverItem[]): Promise<RecordedFirst> {
    return this.enqueue(this.first, items).then((outcomes) => ({ delivered: outcomes as DeliveredItem[] }));
  }

  /** Acks; resolves with one boolean per item (true: it settled the message). */
  ack(items: readonly AckItem[]): Promise<boolean[]> {
    this.checkRoom(items.length);
    // A push acked before its record left needs no record of its own; the ack takes over its queue hint.
    const acks = items.map((i): AckItem => {
      const k = keyOf(i);
      const push = this.pushes.get(k);
      if (push === undefined) return i;
      this.pushes.delete(k);
      this.waitingItems -= 1;
      return push.seq !== undefined && push.queue !== undefined ? { ...i, seq: push.seq, queue: push.queue } : i;
    });
    return this.enqueue(this.acks, acks) as Promise<boolean[]>;
  }

  /** Fails; resolves with one outcome per item. */
  fail(items: readonly FailItem[]): Promise<FailOutcome[]> {
    this.checkRoom(items.length);
    return this.enqueue(this.fails, items) as Promise<FailOutcome[]>;
  }

  /** Leadership lost: everything waiting fails with `reason`; later calls are ignored or refused. */
  stop(reason: Error): void {
    if (this.stopped) return;
    this.stopped = true;
    const unrecorded = [...this.pushes.values()];
    this.pushes.clear();
    for (const w of [...this.first, ...this.acks, ...this.fails]) w.reject(reason);
    this.first = [];
    this.acks = [];
    this.fails = [];
    this.waitingItems = 0;
    if (unrecorded.length > 0) this.p.onUnrecorded(unrecorded);
  }

  private checkRoom(n: number): void {
    if (this.stopped) throw new RaftbusError("NOT_LEADER", "this node no longer leads");
    if (this.waitingItems + n > this.p.itemsWaitingMax) {
      throw new RaftbusError("BACKPRESSURE", `${this.waitingItems} acks and deliveries are waiting to be recorded; retry shortly`);
    }
  }

  private enqueue<T>(queue: Waiting<T>[], items: readonly T[]): Promise<unknown[]> {
    if (this.stopped) return Promise.reject(new RaftbusError("NOT_LEADER", "this node no longer leads"));
    if (items.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      queue.push({ items, resolve, reject });
      this.waitingItems += items.length;
      this.schedule();
    });
  }

  /** Flush on the next turn of the event loop, so items arriving in this one join the entry. */
  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (!this.stopped && this.waitingItems > 0 && this.inFlight < this.p.entriesInFlightMax) this.proposeOne();
  }

  /** Takes up to itemsPerEntryMax items (whole requests; a request larger than that is split) and proposes them. */
  private proposeOne(): void {
    const max = this.p.itemsPerEntryMax;
    const delivered: DeliverItem[] = [];
    for (const [k, i] of this.pushes) {
      if (delivered.length >= max) break;
      this.pushes.delete(k);
      delivered.push(i);
    }
    const pushCount = delivered.length;
    const firsts = this.take(this.first, max - delivered.length);
    for (const w of firsts) delivered.push(...w.items);
    const acks = this.take(this.acks, max - delivered.length);
    const acked = acks.flatMap((w) => w.items);
    const fails = this.take(this.fails, max - delivered.length - acked.length);
    const failed = fails.flatMap((w) => w.items);
    const n = delivered.length + acked.length + failed.length;
    if (n === 0) return;
    this.waitingItems -= n;
    this.inFlight += 1;
    this.p.propose({ type: "delivery", now: this.p.now(), delivered, acked, failed }).then(
      (r) => {
        // Split the accepted deliveries back per request. (Refused pushes need nothing more: apply
        // ended their reservations, and the message is still queued.) Apply accepts a message once
        // per entry, the first time it appears, so an acceptance belongs to the FIRST item naming it
        // in entry order — the pushes, then each request in turn. Matching by key alone would hand
        // one acceptance to every request naming the message: an at-most-once message re-planned
        // after a lost reservation would go out twice.
        // (Identical items — same consumer and attempt — get the same verdict except for the first
        // acceptance, so claiming in order is exact.)
        const itemKey = (i: DeliverItem | DeliveredItem): string => `${keyOf(i)}\u0000${i.consumerId}\u0000${i.attempt}`;
        const accepted = new Map<string, DeliveredItem[]>();
        for (const d of r.delivered) {
          const list = accepted.get(itemKey(d));
          if (list === undefined) accepted.set(itemKey(d), [d]);
          else list.push(d);
        }
        const claim = (i: DeliverItem): DeliveredItem | undefined => accepted.get(itemKey(i))?.shift();
        for (const i of delivered.slice(0, pushCount)) claim(i);
        let at = pushCount;
        for (const w of firsts) {
          const mine: DeliveredItem[] = [];
          for (const i of w.items) {
            const d = claim(i);
            if (d !== undefined) mine.push(d);
          }
          w.resolve(mine);
          at += w.items.length;
        }
        assert(at === delivered.length, "recorder: delivered items out of step");
        resolveSlices(acks, r.acked);
        resolveSlices(fails, r.failed);
      },
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        for (const w of [...firsts, ...acks, ...fails]) w.reject(e);
        this.p.onUnrecorded(delivered);
      },
    ).finally(() => {
      this.inFlight -= 1;
      this.flush();
    });
  }

  /** Whole requests from the head of `queue` while they fit in `room` (at least one, split if it alone is too big). */
  private take<T>(queue: Waiting<T>[], room: number): Waiting<T>[] {
    const out: Waiting<T>[] = [];
    while (queue.length > 0 && room > 0) {
      const w = queue[0] as Waiting<T>;
      if (w.items.length <= room) {
        queue.shift();
        out.push(w);
        room -= w.items.length;
        continue;
      }
      if (out.length > 0) break;
      // One request larger than an entry: its first `room` items go now, the rest in the next entry.
      queue[0] = splitTail(w, room, (head) => out.push(head));
      break;
    }
    return out;
  }
}

/**
 * Splits a waiting request: `emit` receives the first `n` items as a request
 * of their own; the returned request holds the rest and resolves the
 * original with both parts' outcomes, in order.
 */
function splitTail<T>(w: Waiting<T>, n: number, emit: (head: Waiting<T>) => void): Waiting<T> {
  let headOutcomes: unknown[] | undefined;
  let failed = false;
  emit({
    items: w.items.slice(0, n),
    resolve: (o) => (headOutcomes = o),
    reject: (e) => {
      failed = true;
      w.reject(e);
    },
  });
  return {
    items: w.items.slice(n),
    resolve: (o) => {
      if (failed) return;
      w.resolve([...(headOutcomes ?? []), ...o]);
    },
    reject: (e) => {
      if (!failed) w.reject(e);
    },
  };
}

function resolveSlices<T>(requests: readonly Waiting<T>[], outcomes: readonly unknown[]): void {
  let at = 0;
  for (const w of requests) {
    w.resolve(outcomes.slice(at, at + w.items.length));
    at += w.items.length;
  }
  assert(at === outcomes.length, "recorder: outcomes out of step with the items");
}

/**
 * Subscribers attached to this node (leader-local, not replicated): which
 * session consumes which subscription, with how much credit. A durable
 * subscription with several attached consumers is a work queue.
 */
import type { ClientSession } from "./session.ts";

/** One attached consumer. Its id is the protocol's subscriptionId. */
export interface Consumer {
  readonly id: string;
  /** The replicated subscription's name (durable name, or the generated ephemeral name). */
  readonly subscription: string;
  readonly durable: boolean;
  readonly session: ClientSession;
  /** Deliveries the client still allows (credit-based flow control). */
  credit: number;
  readonly maxInFlight: number;
}

/**
 * All consumers on this node, indexed by id, session and subscription so
 * that no per-request or per-round question costs a walk over every
 * consumer (with 10,000 subscriptions, counting a session's consumers on
 * each subscribe made subscribing quadratic).
 */
export class ConsumerRegistry {
  private readonly byId = new Map<string, Consumer>();
  private readonly bySession = new Map<ClientSession, Set<Consumer>>();
  private readonly bySubscription = new Map<string, Set<Consumer>>();
  /** Subscribe requests in progress per session: they count against the session's limit already. */
  private readonly reserved = new Map<ClientSession, number>();
  private seq = 0;

  /**
   * Takes one of `session`'s subscription slots for a subscribe in progress,
   * synchronously, so concurrent subscribes cannot all pass the check
   * (the old check-then-await was racy). Returns the release to call when
   * the subscribe ends, attached or failed; undefined when the session is at `max`.
   */
  reserve(session: ClientSession, max: number): (() => void) | undefined {
    const held = this.countForSession(session) + (this.reserved.get(session) ?? 0);
    if (held >= max) return undefined;
    this.reserved.set(session, (this.reserved.get(session) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.reserved.get(session) ?? 1) - 1;
      if (n <= 0) this.reserved.delete(session);
      else this.reserved.set(session, n);
    };
  }

  /** Attach a consumer; returns it. */
  attach(session: ClientSession, subscription: string, durable: boolean, maxInFlight: number, credit: number): Consumer {
    const c: Consumer = { id: `${session.id}.${++this.seq}`, subscription, durable, session, credit, maxInFlight };
    this.byId.set(c.id, c);
    addTo(this.bySession, session, c);
    addTo(this.bySubscription, subscription, c);
    return c;
  }

  get(id: string): Consumer | undefined {
    return this.byId.get(id);
  }

  detach(id: string): Consumer | undefined {
    const c = this.byId.get(id);
    if (c === undefined) return undefined;
    this.byId.delete(id);
    removeFrom(this.bySession, c.session, c);
    removeFrom(this.bySubscription, c.subscription, c);
    return c;
  }

  /** Detach every consumer of a session (it closed). */
  detachSession(session: ClientSession): Consumer[] {
    const gone = [...(this.bySession.get(session) ?? [])];
    for (const c of gone) this.detach(c.id);
    return gone;
  }

  countForSession(session: ClientSession): number {
    return this.bySession.get(session)?.size ?? 0;
  }

  /** Consumers attached to a subscription name. */
  membersOf(subscription: string): number {
    return this.bySubscription.get(subscription)?.size ?? 0;
  }

  /** The consumers attached to a subscription name (none: empty). */
  of(subscription: string): ReadonlySet<Consumer> {
    return this.bySubscription.get(subscription) ?? NONE;
  }

  /** The consumers `session` holds (none: empty). */
  ofSession(session: ClientSession): ReadonlySet<Consumer> {
    return this.bySession.get(session) ?? NONE;
  }

  all(): IterableIterator<Consumer> {
    return this.byId.values();
  }

  size(): number {
    return this.byId.size;
  }
}

const NONE: ReadonlySet<Consumer> = new Set();

function addTo<K>(index: Map<K, Set<Consumer>>, key: K, c: Consumer): void {
  const set = index.get(key);
  if (set === undefined) index.set(key, new Set([c]));
  else set.add(c);
}

function removeFrom<K>(index: Map<K, Set<Consumer>>, key: K, c: Consumer): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(c);
  if (set.size === 0) index.delete(key);
}

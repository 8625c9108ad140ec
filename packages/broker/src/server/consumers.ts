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

/** All consumers on this node. */
export class ConsumerRegistry {
  private readonly byId = new Map<string, Consumer>();
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
    return c;
  }

  get(id: string): Consumer | undefined {
    return this.byId.get(id);
  }

  detach(id: string): Consumer | undefined {
    const c = this.byId.get(id);
    this.byId.delete(id);
    return c;
  }

  /** Detach every consumer of a session (it closed). */
  detachSession(session: ClientSession): Consumer[] {
    const gone = [...this.byId.values()].filter((c) => c.session === session);
    for (const c of gone) this.byId.delete(c.id);
    return gone;
  }

  countForSession(session: ClientSession): number {
    let n = 0;
    for (const c of this.byId.values()) if (c.session === session) n++;
    return n;
  }

  /** Consumers attached to a subscription name. */
  membersOf(subscription: string): number {
    let n = 0;
    for (const c of this.byId.values()) if (c.subscription === subscription) n++;
    return n;
  }

  all(): IterableIterator<Consumer> {
    return this.byId.values();
  }

  size(): number {
    return this.byId.size;
  }
}

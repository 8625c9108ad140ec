/**
 * What only the leader does, started when it takes office and stopped when
 * it loses it:
 *
 * - Catch up first: it proposes a time entry and starts the delivery path
 *   only once that entry is applied. By then every entry of earlier terms is
 *   either applied here or gone for good, so no ack committed under an
 *   earlier leader can be missed when deciding what to push.
 * - Time entries only when time-driven work is due (an ack deadline, a TTL,
 *   retention by age, unfinished budgeted work): the broker says when; an
 *   idle cluster writes nothing.
 * - Expire ephemeral subscriptions whose session is gone (SPEC §5).
 * - Sweep with the delivery pump now and then, for retries that came due
 *   (the rounds after applies and acks look only at first deliveries).
 */
import type { Logger, RaftNode } from "@raftbus/raft";
import type { BrokerStateMachine } from "../broker-state-machine.ts";
import type { EphemeralSession } from "../queries/queries.ts";
import type { TickCommand } from "../commands/types.ts";
import type { NodeConfig } from "./config.ts";
import type { NodeServer } from "./node-server.ts";
import { proposeCommand } from "./proposer.ts";

/** How often the pump runs without a trigger (retries that became due: reads only). */
const PUMP_INTERVAL_MS = 100;
/** How often ephemeral subscriptions are checked for a live session (reads only). */
const EXPIRY_INTERVAL_MS = 1000;
/** Wait before retrying the catch-up entry after a failure. */
const CATCH_UP_RETRY_MS = 100;

/** Parts the duties need. */
export interface LeaderDutiesParts {
  readonly config: NodeConfig;
  readonly raft: RaftNode<unknown>;
  readonly broker: BrokerStateMachine;
  readonly server: NodeServer;
  /** The `duties` component logger. */
  readonly logger: Logger;
}

/** The leader's periodic work; see the module comment. */
export class LeaderDuties {
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private stopped = false;
  private ticking = false;
  /** Ephemeral subscription's session id → when it was first seen without a live session. */
  private readonly orphanSince = new Map<string, number>();

  constructor(private readonly p: LeaderDutiesParts) {}

  start(): void {
    const every = (ms: number, f: () => void) => {
      const t = setInterval(f, ms);
      t.unref?.();
      this.timers.push(t);
    };
    every(this.p.config.timeTickMs, () => void this.maybeTick());
    every(PUMP_INTERVAL_MS, () => this.p.server.delivery.sweep());
    every(EXPIRY_INTERVAL_MS, () => void this.expireSessions());
    void this.catchUp();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.p.server.delivery.unlead();
  }

  /** Apply an entry of this term, then start delivering (see the module comment). */
  private async catchUp(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.proposeTick();
        if (!this.stopped) this.p.server.delivery.lead();
        return;
      } catch (err) {
        if (!this.p.raft.isLeader()) return;
        this.p.logger.warn({ err: String(err) }, "catch-up entry failed; retrying");
        await new Promise((r) => setTimeout(r, CATCH_UP_RETRY_MS));
      }
    }
  }

  /** Write a time entry if time-driven work is due by the leader's clock. */
  private async maybeTick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    try {
      const due = await this.p.broker.nextTimeWork();
      if (due === undefined || due > Date.now() || this.stopped) return;
      await this.proposeTick();
    } catch {
      // Not leader any more, or the entry was dropped: the next check retries.
    }
  }

  private async proposeTick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const tick = this.p.broker.checkProposal({ type: "tick", now: Date.now() }) as TickCommand;
      this.p.server.metrics.timeEntryWritten();
      await proposeCommand(this.p.raft, tick);
    } finally {
      this.ticking = false;
    }
  }

  /**
   * Ephemeral subscriptions die with their session, after the session
   * timeout (SPEC §5). The owning sessions are read at one point; one
   * session's failed expiry (a lost proposal, leadership gone) is logged and
   * retried next round without holding up the others.
   */
  private async expireSessions(): Promise<void> {
    if (this.stopped) return;
    const live = new Set([...this.p.server.sessions].map((s) => s.id));
    const now = Date.now();
    let owners: EphemeralSession[];
    try {
      owners = await this.p.broker.ephemeralSessions();
    } catch (err) {
      this.p.logger.warn({ err: String(err) }, "session expiry round failed");
      return;
    }
    const orphans = owners.filter((o) => !live.has(o.sessionId));
    for (const sid of [...this.orphanSince.keys()]) if (!orphans.some((o) => o.sessionId === sid)) this.orphanSince.delete(sid);
    for (const { sessionId: sid, subscriptions } of orphans) {
      const since = this.orphanSince.get(sid) ?? now;
      this.orphanSince.set(sid, since);
      if (this.stopped || now - since < this.p.config.sessionTimeoutMs) continue;
      try {
        await proposeCommand(this.p.raft, this.p.broker.checkProposal({ type: "expireSession", now, sessionId: sid }) as { type: "expireSession"; now: number; sessionId: string });
        for (const name of subscriptions) this.p.server.sys.subscription("expired", name, { ephemeral: true });
        this.orphanSince.delete(sid);
      } catch (err) {
        // Leadership lost mid-round: the new leader's duties expire these sessions; one warning per session here
        // was a flood (135 lines from one old leader that had 10 clients' sessions to expire).
        if (this.stopped || !this.p.raft.isLeader()) return;
        this.p.logger.warn({ err: String(err), sessionId: sid }, "session expiry failed; retrying next round");
      }
    }
  }
}

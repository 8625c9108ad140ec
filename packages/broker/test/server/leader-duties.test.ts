/**
 * Session expiry on the leader: an ephemeral subscription whose session is
 * gone is expired after the session timeout; a failed expiry is retried
 * next round with a warning, but a node that lost leadership mid-round
 * stops quietly (the new leader's duties take over; one warning per session
 * was a flood). Fakes stand in for the Raft node, broker and server; the
 * interval timers run on vitest's fake clock.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LeaderDuties } from "../../src/server/leader-duties.ts";
import type { LeaderDutiesParts } from "../../src/server/leader-duties.ts";

interface Rig {
  duties: LeaderDuties;
  warnings: string[];
  proposals: unknown[];
  leader: { is: boolean };
}

function rig(propose: (rig: Rig) => Promise<unknown>): Rig {
  const warnings: string[] = [];
  const proposals: unknown[] = [];
  const leader = { is: true };
  const r = { warnings, proposals, leader } as Rig;
  const sessions = ["gone-1", "gone-2", "gone-3"].map((sessionId) => ({ sessionId, subscriptions: [`_eph.${sessionId}.1`] }));
  const parts = {
    config: { timeTickMs: 3_600_000, sessionTimeoutMs: 5000 },
    raft: {
      isLeader: () => leader.is,
      propose: async (cmd: unknown) => {
        proposals.push(cmd);
        return propose(r);
      },
    },
    broker: {
      ephemeralSessions: async () => sessions,
      checkProposal: (c: unknown) => c,
      nextTimeWork: async () => undefined,
    },
    server: {
      sessions: new Set(),
      delivery: { trigger: () => undefined, sweep: () => undefined, lead: () => undefined, unlead: () => undefined },
      metrics: { timeEntryWritten: () => undefined },
      sys: { subscription: () => undefined },
    },
    logger: { warn: (_o: object, msg: string) => warnings.push(msg), info: () => undefined, debug: () => undefined, error: () => undefined },
  } as unknown as LeaderDutiesParts;
  r.duties = new LeaderDuties(parts);
  return r;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("leader duties: session expiry", () => {
  it("retries a failed expiry next round, with a warning per session", async () => {
    const r = rig(async () => {
      throw new Error("proposal dropped");
    });
    r.duties.start();
    await vi.advanceTimersByTimeAsync(7000);
    expect(r.warnings.filter((w) => w === "session expiry failed; retrying next round").length).toBeGreaterThanOrEqual(3);
    r.duties.stop();
  });

  it("a node that lost leadership mid-round stops the round without a warning per session", async () => {
    const r = rig(async (self) => {
      // The first expiry's proposal is refused because this node no longer leads.
      self.leader.is = false;
      throw new Error("RaftError: not the leader");
    });
    r.duties.start();
    await vi.advanceTimersByTimeAsync(7000);
    const expiries = r.proposals.filter((p) => typeof p === "object");
    expect(expiries.length).toBeGreaterThan(0);
    expect(r.warnings).not.toContain("session expiry failed; retrying next round");
    r.duties.stop();
  });
});

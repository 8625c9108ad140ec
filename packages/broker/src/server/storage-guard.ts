/**
 * A full disk (docs/OPERATIONS.md §7). Below `diskFreeMinBytes` of free
 * space under its data directory a node calls its disk LOW; the leader then
 * refuses new client publishes with STORAGE_FULL while it keeps serving
 * reads, acks, deletes and retention (small writes that shrink the state),
 * and recovers by itself when space returns.
 *
 * Where the check belongs. A publish is acknowledged once a MAJORITY of
 * voters has it fsync'd, so it is the majority's disks that matter, not
 * only the leader's: a follower whose disk is full cannot fsync appends and
 * counts for nothing towards a commit. The leader therefore refuses
 * publishes when its own disk is low (it writes every entry first) or when
 * the voters whose disks are not low no longer form a majority. It learns
 * the followers' free space from their /v1/status (the exchange
 * `cluster status` and finalize-upgrade already use), polled every
 * MEMBER_POLL_MS while it leads. A member that does not answer is not
 * counted as low: a node that is down is Raft's business (no quorum, no
 * commit), and a refusal must name a real cause. One low follower of three
 * leaves the cluster writable, with an alert to act on. A leader whose own
 * disk is low hands leadership to a caught-up voter with room, when there is
 * one; without one it stays and refuses publishes.
 *
 * The floor is a margin, not zero: acks, deletes, retention, time entries
 * and system events still append small entries, and LevelDB needs room to
 * compact, which is what frees space again.
 */
import { statfs } from "node:fs/promises";
import { RaftbusError } from "@raftbus/client/protocol";
import type { Logger } from "@raftbus/raft";
import type { PeerSpec } from "./config.ts";
import { getMemberJson } from "./member-http.ts";
import type { NodeTls } from "./tls.ts";

/** How often a node measures its own free space. */
export const DISK_SAMPLE_MS = 1000;
/** How often the leader asks the other voters for theirs. */
export const MEMBER_POLL_MS = 2000;
/** A member's report older than this no longer counts (it recovered, or it is gone). */
const MEMBER_REPORT_TTL_MS = 10_000;
/** How long one member status request may take. */
const MEMBER_STATUS_TIMEOUT_MS = 1500;
/** A low leader tries to hand over leadership at most this often. */
const TRANSFER_EVERY_MS = 5000;
/** Bytes above the floor a low disk needs before it counts as recovered (so it does not flap at the floor). */
export function recoveryMarginBytes(minBytes: number): number {
  return Math.max(1024 * 1024, Math.floor(minBytes / 10));
}

/** Free and total bytes of a file system. */
export interface DiskSample {
  readonly freeBytes: number;
  readonly sizeBytes: number;
}

/** Measures the file system holding `dir`. */
export type DiskProbe = (dir: string) => Promise<DiskSample>;

/** statfs: bytes available to this (unprivileged) process. */
export const statfsProbe: DiskProbe = async (dir) => {
  const st = await statfs(dir);
  return { freeBytes: st.bavail * st.bsize, sizeBytes: st.blocks * st.bsize };
};

/** What /v1/status says about this node's disk. */
export interface DiskReport {
  readonly freeBytes: number | null;
  readonly sizeBytes: number | null;
  readonly minBytes: number;
  readonly low: boolean;
}

/**
 * The publish rule (see the module comment): the voters whose disks are
 * low, and whether the leader must refuse publishes.
 */
export function publishVerdict(selfId: string, selfLow: boolean, voters: readonly string[], lowMembers: ReadonlySet<string>): { readonly refuse: boolean; readonly low: readonly string[] } {
  const low = voters.filter((v) => (v === selfId ? selfLow : lowMembers.has(v)));
  const quorum = Math.floor(voters.length / 2) + 1;
  return { refuse: selfLow || voters.length - low.length < quorum, low };
}

/** What the guard needs from the node. */
export interface StorageGuardParts {
  readonly nodeId: string;
  readonly dataDir: string;
  /** 0 turns the guard off. */
  readonly minBytes: number;
  readonly log: Logger;
  readonly probe?: DiskProbe;
  /** Whether this node leads now, the voters, and how fresh each follower's contact is. */
  readonly leading: () => boolean;
  readonly voters: () => readonly string[];
  /** A voter with room the leader may hand over to (caught up, in contact), best first. */
  readonly handoverCandidates: () => readonly string[];
  /** Hands leadership to `to`. */
  readonly transferLeader: (to: string) => Promise<void>;
  /** A member's disk report, from its /v1/status (undefined: no answer). */
  readonly memberDisk: (id: string) => Promise<DiskReport | undefined>;
}

/** See the module comment. */
export class StorageGuard {
  private self: DiskSample | undefined;
  private lowNow = false;
  private readonly members = new Map<string, { readonly report: DiskReport; readonly at: number }>();
  private sampleTimer: ReturnType<typeof setInterval> | undefined;
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private busy = { sample: false, poll: false };
  private lastTransferAt = 0;
  private readonly probe: DiskProbe;

  constructor(private readonly p: StorageGuardParts) {
    this.probe = p.probe ?? statfsProbe;
  }

  /** Starts measuring (nothing runs when the floor is 0). */
  start(): void {
    if (this.p.minBytes <= 0) return;
    this.sampleTimer = setInterval(() => void this.sample(), DISK_SAMPLE_MS);
    this.pollTimer = setInterval(() => void this.poll(), MEMBER_POLL_MS);
    this.sampleTimer.unref();
    this.pollTimer.unref();
    void this.sample();
  }

  stop(): void {
    clearInterval(this.sampleTimer);
    clearInterval(this.pollTimer);
  }

  /** True while this node's free space is below the floor (until it is back above the floor plus a margin). */
  get low(): boolean {
    return this.lowNow;
  }

  /** This node's disk, for /v1/status and the alert. */
  report(): DiskReport {
    return { freeBytes: this.self?.freeBytes ?? null, sizeBytes: this.self?.sizeBytes ?? null, minBytes: this.p.minBytes, low: this.lowNow };
  }

  /** STORAGE_FULL when the leader must refuse a client publish now, else undefined. */
  publishRefusal(): RaftbusError | undefined {
    if (this.p.minBytes <= 0) return undefined;
    const now = Date.now();
    const lowMembers = new Set<string>();
    for (const [id, m] of this.members) if (m.report.low && now - m.at <= MEMBER_REPORT_TTL_MS) lowMembers.add(id);
    const verdict = publishVerdict(this.p.nodeId, this.lowNow, this.p.voters(), lowMembers);
    if (!verdict.refuse) return undefined;
    const who = verdict.low.join(", ");
    return new RaftbusError("STORAGE_FULL", `free disk space is below diskFreeMinBytes on ${who}` +
      `${this.lowNow ? " (the leader)" : ", so no majority of voters can store new messages"}; publishes are refused until space returns (reads, acks and deletes still work)`,
    { details: { nodes: who, minBytes: this.p.minBytes } });
  }

  /** Measures this node's disk and moves between low and not low. */
  async sample(): Promise<void> {
    if (this.busy.sample) return;
    this.busy.sample = true;
    try {
      this.self = await this.probe(this.p.dataDir);
    } catch (err) {
      this.p.log.warn({ err: String(err), dir: this.p.dataDir }, "cannot measure free disk space");
      return;
    } finally {
      this.busy.sample = false;
    }
    const free = this.self.freeBytes;
    const min = this.p.minBytes;
    if (!this.lowNow && free < min) {
      this.lowNow = true;
      this.p.log.warn({ freeBytes: free, minBytes: min }, "free disk space below diskFreeMinBytes: refusing new publishes while this node leads");
    } else if (this.lowNow && free >= min + recoveryMarginBytes(min)) {
      this.lowNow = false;
      this.p.log.info({ freeBytes: free, minBytes: min }, "free disk space is back above diskFreeMinBytes");
    }
    if (this.lowNow) await this.maybeHandOver();
  }

  /** Leader: asks every other voter for its disk report. */
  async poll(): Promise<void> {
    if (this.busy.poll) return;
    if (!this.p.leading()) {
      this.members.clear();
      return;
    }
    this.busy.poll = true;
    try {
      const voters = this.p.voters().filter((id) => id !== this.p.nodeId);
      for (const id of this.members.keys()) if (!voters.includes(id)) this.members.delete(id);
      await Promise.all(voters.map(async (id) => {
        const report = await this.p.memberDisk(id);
        if (report !== undefined) this.members.set(id, { report, at: Date.now() });
      }));
    } finally {
      this.busy.poll = false;
    }
  }

  /**
   * A low leader hands leadership to a voter with room (at most every
   * TRANSFER_EVERY_MS). Only to a voter whose fresh report SAYS it has room:
   * a voter not heard from yet may be full too, and when every disk is full
   * (one shared file system, or all boxes filled together) handing over on
   * "unknown" made leadership hop between full nodes every second or two —
   * each new leader knows nothing of the others yet — and every hop drops
   * in-flight proposals, system events (the storage-full alert) included.
   */
  private async maybeHandOver(): Promise<void> {
    if (!this.p.leading() || Date.now() - this.lastTransferAt < TRANSFER_EVERY_MS) return;
    const now = Date.now();
    const to = this.p.handoverCandidates().find((id) => {
      const m = this.members.get(id);
      return m !== undefined && !m.report.low && now - m.at <= MEMBER_REPORT_TTL_MS;
    });
    if (to === undefined) return;
    this.lastTransferAt = now;
    this.p.log.warn({ to }, "free disk space below diskFreeMinBytes: handing leadership to a voter with room");
    await this.p.transferLeader(to).catch((err: unknown) => this.p.log.warn({ to, err: String(err) }, "leadership hand-over failed; will retry"));
  }
}

/** A member's disk report from its /v1/status (over https with the CA when the node runs TLS), when it answers and reports one. */
export async function fetchMemberDisk(p: PeerSpec, tls: NodeTls | undefined): Promise<DiskReport | undefined> {
  const body = (await getMemberJson(p, "/v1/status", tls, MEMBER_STATUS_TIMEOUT_MS)) as { disk?: Partial<DiskReport> } | undefined;
  const disk = typeof body === "object" && body !== null ? body.disk : undefined;
  if (disk === undefined || typeof disk.low !== "boolean") return undefined;
  return {
    low: disk.low, minBytes: typeof disk.minBytes === "number" ? disk.minBytes : 0,
    freeBytes: typeof disk.freeBytes === "number" ? disk.freeBytes : null, sizeBytes: typeof disk.sizeBytes === "number" ? disk.sizeBytes : null,
  };
}

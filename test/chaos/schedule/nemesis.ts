/**
 * Injects the scheduled faults into a running cluster and heals them. Each
 * fault resolves its targets when it starts (the leader at that moment,
 * from the schedule's draws otherwise) and records start and end, with the
 * resolved detail, in the history.
 */
import { rmSync, mkdirSync } from "node:fs";
import type { RaftbusClient } from "@raftbus/client";
import { sleep, waitFor } from "../../support/local-cluster.ts";
import type { ChaosCluster } from "../cluster/chaos-cluster.ts";
import type { FaultLayer } from "../net/fault-layer.ts";
import { type LinkFault, linkKey } from "../net/link-fault.ts";
import type { History } from "../workload/history.ts";
import { codeOf } from "../workload/history.ts";
import type { ScheduledFault } from "./schedule.ts";

type Heal = () => Promise<void>;

/** Applies faults; one at a time (the schedule does not overlap them). */
export class Nemesis {
  private readonly removed = new Set<string>();

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly layer: FaultLayer,
    private readonly history: History,
    private readonly admin: RaftbusClient,
  ) {}

  /** Start `f`; resolves with the function that heals it. */
  async start(f: ScheduledFault): Promise<Heal> {
    const d = f.draws;
    const ids = this.cluster.ids.filter((id) => !this.removed.has(id));
    const pick = (i: number, from: readonly string[] = ids): string => from[d[i]! % from.length]!;
    const leader = await this.cluster.leader();
    const leaderOr = async (i: number): Promise<string> => (leader !== undefined && d[i]! % 2 === 0 ? leader : pick(i + 1));
    const record = (detail: string) => this.history.add({ t: "fault", time: Date.now(), phase: "start", kind: f.kind, detail });
    const ended = (heal: Heal): Heal => async () => {
      await heal();
      this.history.add({ t: "fault", time: Date.now(), phase: "end", kind: f.kind, detail: "" });
    };
    const healNet: Heal = () => this.layer.setFaults([], {});
    switch (f.kind) {
      case "isolate-leader": {
        const x = leader ?? pick(0);
        await this.layer.setFaults(ids.filter((o) => o !== x).map((o) => [x, o] as const), {});
        record(`${x} (${leader === undefined ? "no leader known" : "leader"}) cut from ${ids.filter((o) => o !== x).join(", ")}`);
        return ended(healNet);
      }
      case "isolate": {
        const x = pick(0);
        await this.layer.setFaults(ids.filter((o) => o !== x).map((o) => [x, o] as const), {});
        record(`${x} cut from everyone${x === leader ? " (the leader)" : ""}`);
        return ended(healNet);
      }
      case "split": {
        const minority = shuffled(ids, d[0]!).slice(0, Math.floor((ids.length - 1) / 2));
        if (leader !== undefined && d[1]! % 2 === 0 && !minority.includes(leader)) minority[0] = leader;
        const majority = ids.filter((o) => !minority.includes(o));
        await this.layer.setFaults(minority.flatMap((a) => majority.map((b) => [a, b] as const)), {});
        record(`minority {${minority.join(",")}} | majority {${majority.join(",")}}`);
        return ended(healNet);
      }
      case "bridge": {
        // Two majorities that overlap in one node: only the bridge talks to both sides.
        const order = shuffled(ids, d[0]!);
        const bridge = order[0]!;
        const rest = order.slice(1);
        const left = rest.slice(0, Math.ceil(rest.length / 2));
        const right = rest.slice(Math.ceil(rest.length / 2));
        await this.layer.setFaults(left.flatMap((a) => right.map((b) => [a, b] as const)), {});
        record(`bridge ${bridge}: {${left.join(",")}} cut from {${right.join(",")}}`);
        return ended(healNet);
      }
      case "one-way-loss": {
        const x = await leaderOr(0);
        const outgoing = d[2]! % 2 === 0;
        const faults: Record<string, LinkFault> = {};
        for (const o of ids.filter((y) => y !== x)) faults[outgoing ? linkKey(x, o) : linkKey(o, x)] = { lossRate: 1 };
        await this.layer.setFaults([], faults);
        record(`every message ${outgoing ? "from" : "to"} ${x}${x === leader ? " (leader)" : ""} dropped, the other direction works`);
        return ended(healNet);
      }
      case "link-faults": {
        const fault: LinkFault = { delayMs: 10 + (d[0]! % 90), jitterMs: 10 + (d[1]! % 90), reorder: true, lossRate: 0.05 + (d[2]! % 25) / 100 };
        await this.layer.setFaults([], allLinks(ids, fault));
        record(`every peer link: delay ${fault.delayMs} ms + jitter ${fault.jitterMs} ms, reordering, loss ${Math.round((fault.lossRate ?? 0) * 100)}%`);
        return ended(healNet);
      }
      case "kill": {
        const x = await leaderOr(0);
        await this.cluster.kill(x);
        record(`kill -9 ${x}${x === leader ? " (leader)" : ""}; restart on the same data at heal`);
        return ended(async () => this.cluster.startNode(x));
      }
      case "power-cut": {
        // The whole cluster loses power: only what was fsync'd survives. The
        // old leader comes back last, so the others must elect from their own disks.
        const x = leader ?? pick(0);
        const others = ids.filter((o) => o !== x);
        await Promise.all(ids.map((o) => this.cluster.kill(o)));
        record(`kill -9 every node at once (${x} ${x === leader ? "leads" : "picked"}); heal restarts ${others.join(", ")} first, ${x} once they elect a leader`);
        return ended(async () => {
          for (const o of others) this.cluster.startNode(o);
          // Start-up is slow on a busy machine: the old leader must come back only after the others chose.
          // Unless too few of them stay up to elect one: nodes that refuse their damaged disks
          // (the follower-no-fsync bite) exit at once, and waiting out the 90 s would only pad the run.
          const majority = Math.floor(ids.length / 2) + 1;
          await waitFor("a leader without the old one", async () => {
            if (others.filter((o) => this.cluster.node(o).proc !== undefined).length < majority) throw new Error("too few nodes running to elect a leader");
            return (await this.cluster.leader()) !== undefined ? true : undefined;
          }, 90_000, 100)
            .catch((err: unknown) => this.history.note(`power-cut: no leader elected without ${x} (${err instanceof Error ? err.message : String(err)})`));
          this.cluster.startNode(x);
        });
      }
      case "pause": {
        const x = await leaderOr(0);
        this.cluster.pause(x);
        record(`SIGSTOP ${x}${x === leader ? " (leader)" : ""}; SIGCONT at heal`);
        return ended(async () => this.cluster.resume(x));
      }
      case "rolling-restart": {
        record(`SIGTERM and restart ${ids.join(", ")} one after another`);
        for (const x of ids) {
          await this.cluster.stop(x);
          this.cluster.startNode(x);
          await this.cluster.waitReady([x], 20_000).catch(() => this.history.note(`rolling-restart: ${x} not ready within 20 s`));
        }
        return ended(async () => undefined);
      }
      case "membership":
        return ended(await this.membership(ids, leader, d, record));
      case "clock-jump": {
        const x = await leaderOr(0);
        const offsetMs = (d[2]! % 2 === 0 ? 1 : -1) * (15_000 + (d[3]! % 45_000));
        this.cluster.setClockOffset(x, offsetMs);
        record(`${x}${x === leader ? " (leader)" : ""} wall clock jumps ${offsetMs > 0 ? "+" : ""}${Math.round(offsetMs / 1000)} s; back at heal`);
        return ended(async () => this.cluster.setClockOffset(x, 0));
      }
    }
  }

  /** Remove a node (under lossy, slow links), stop it, maybe wipe it; heal re-adds and starts it. */
  private async membership(ids: readonly string[], leader: string | undefined, d: readonly number[], record: (s: string) => void): Promise<Heal> {
    const candidates = ids.filter((id) => this.layer.readdAddress(id) !== undefined);
    const x = leader !== undefined && d[0]! % 3 === 0 && candidates.includes(leader) ? leader : candidates[d[1]! % candidates.length]!;
    const wipe = d[2]! % 2 === 0;
    await this.layer.setFaults([], allLinks(ids, { delayMs: 20, jitterMs: 30, lossRate: 0.1 }));
    try {
      await this.admin.cluster.removeNode(x, { timeoutMs: 15_000 });
    } catch (err) {
      // Membership changes are not resent: after CONNECTION_CLOSED or TIMEOUT the change may still have happened.
      const gone = await waitFor(`${x} out of the voters`, async () => {
        const l = await this.cluster.leader();
        const st = l === undefined ? undefined : await this.cluster.status(l);
        return st !== undefined && !st.voters.includes(x) ? true : undefined;
      }, 5000, 200).catch(() => false);
      if (!gone) {
        record(`remove ${x} failed (${codeOf(err)}) under 10% loss and 20–50 ms delay`);
        return () => this.layer.setFaults([], {});
      }
      this.history.note(`remove ${x} answered ${codeOf(err)} but took effect`);
    }
    this.removed.add(x);
    await this.cluster.stop(x);
    if (wipe) {
      rmSync(this.cluster.node(x).dataDir, { recursive: true, force: true });
      mkdirSync(this.cluster.node(x).dataDir, { recursive: true });
    }
    record(`removed ${x}${x === leader ? " (the leader)" : ""} under 10% loss and 20–50 ms delay, stopped it${wipe ? " and wiped its data" : ""}; re-added at heal`);
    return async () => {
      await this.layer.setFaults([], {});
      const addr = this.layer.readdAddress(x)!;
      await waitFor(`re-adding ${x}`, async () => {
        try {
          await this.admin.cluster.addNode({ id: x, ...addr, voter: true }, { timeoutMs: 10_000 });
          return true;
        } catch (err) {
          this.history.note(`add-node ${x}: ${codeOf(err)}; retrying`);
          await sleep(500);
          return undefined;
        }
      }, 60_000, 0);
      this.removed.delete(x);
      this.cluster.startNode(x);
    };
  }
}

function allLinks(ids: readonly string[], f: LinkFault): Record<string, LinkFault> {
  const out: Record<string, LinkFault> = {};
  for (const a of ids) for (const b of ids) if (a !== b) out[linkKey(a, b)] = f;
  return out;
}

function shuffled(ids: readonly string[], draw: number): string[] {
  const out = [...ids];
  let x = draw;
  for (let i = out.length - 1; i > 0; i--) {
    const j = x % (i + 1);
    x = Math.floor(x / (i + 1)) + 7919 * i;
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

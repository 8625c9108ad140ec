/**
 * The fault schedule of the chaos phase, drawn step by step from the run's
 * PRNG: network weather (calm, lossy, stormy with messages many election
 * timeouts late), partitions (isolate one, majority/minority, a bridge node,
 * one-way links), crashes of a process or of a machine's power at a random
 * moment — while a disk write is in flight, as a node sends, while its
 * state machine applies — restarts (some reading back a corrupt value),
 * disk stalls. Calm spells come often, so the liveness check gets to demand
 * progress from a healthy majority.
 */
import type { NodeId } from "../../src/core/types.ts";
import { CALM_NETWORK } from "./sim-network.ts";
import type { SimCluster } from "./sim-cluster.ts";

/** Fault counters. */
export interface FaultStats {
  weatherChanges: number;
  partitions: number;
  heals: number;
  crashes: number;
  powerCuts: number;
  crashPointsArmed: number;
  restarts: number;
  corruptReadsArmed: number;
}

/** Per-step probabilities. */
const P = {
  weather: 0.008, partition: 0.01, heal: 0.012, crash: 0.004, crashPoint: 0.003, restart: 0.03, corruptRead: 0.15,
};

/** Draws faults for the chaos phase. */
export class SimFaults {
  readonly stats: FaultStats = { weatherChanges: 0, partitions: 0, heals: 0, crashes: 0, powerCuts: 0, crashPointsArmed: 0, restarts: 0, corruptReadsArmed: 0 };

  constructor(private readonly c: SimCluster) {}

  /** One step's worth of faults. */
  step(): void {
    const r = this.c.rand;
    if (r.chance(P.weather)) this.changeWeather();
    if (r.chance(P.partition)) this.partition();
    if (r.chance(P.heal)) {
      this.stats.heals++;
      this.c.net.heal();
    }
    if (r.chance(P.crash)) {
      const victim = this.c.randomNode((n) => n.state === "up");
      // At a random moment within the next step: in the middle of whatever the node is doing.
      if (victim !== undefined) this.c.time.after(r.float() * this.c.settings.tickMs, () => this.c.phase === "chaos" && this.crash(victim.id));
    }
    if (r.chance(P.crashPoint)) this.armCrashPoint();
    if (r.chance(P.restart)) {
      const dead = this.c.randomNode((n) => n.state === "down" && n.incarnations > 0);
      if (dead !== undefined) {
        if (r.chance(P.corruptRead)) {
          dead.raftDisk.corruptNextOpen = true;
          this.stats.corruptReadsArmed++;
        }
        this.stats.restarts++;
        this.c.restart(dead.id);
      }
    }
  }

  /** Crash a process or cut a machine's power. */
  crash(id: NodeId): void {
    const power = this.c.rand.chance(0.5);
    this.stats.crashes++;
    if (power) this.stats.powerCuts++;
    this.c.crash(id, power ? "power" : "process");
  }

  /** Arm a crash at a point inside the driver's work: mid-write, at a send, or mid-apply. */
  private armCrashPoint(): void {
    const victim = this.c.randomNode((n) => n.state === "up");
    if (victim === undefined) return;
    this.stats.crashPointsArmed++;
    this.c.armCrashPoint(victim.id, (["write", "send", "apply"] as const)[this.c.rand.int(3)]!);
  }

  private changeWeather(): void {
    const r = this.c.rand;
    const s = this.c.settings;
    this.stats.weatherChanges++;
    const timeoutMs = s.electionTicks * s.tickMs;
    const kind = r.int(4);
    if (kind <= 1) this.c.net.faults = { ...CALM_NETWORK };
    else if (kind === 2) {
      this.c.net.faults = { dropRate: r.float() * 0.2, duplicateRate: r.chance(0.5) ? 0 : r.float() * 0.05, delayMs: r.float() * timeoutMs / 2, longDelayChance: 0, longDelayMs: 0 };
    } else {
      this.c.net.faults = {
        dropRate: r.float() * 0.05, duplicateRate: r.float() * 0.02, delayMs: r.float() * s.tickMs * 2,
        longDelayChance: r.float() * 0.05, longDelayMs: s.lateMessageTimeouts * timeoutMs,
      };
    }
  }

  /** Isolate one node, split majority/minority, bridge (A sees B and C, they don't see each other), or a one-way link. */
  private partition(): void {
    const r = this.c.rand;
    const ids = [...this.c.nodes.keys()];
    for (let i = ids.length - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    const net = this.c.net;
    net.heal();
    this.stats.partitions++;
    const kind = r.int(4);
    if (kind === 0) net.partition([ids[0]!], ids.slice(1));
    else if (kind === 1) {
      const cut = 1 + r.int(ids.length - 1);
      net.partition(ids.slice(0, cut), ids.slice(cut));
    } else if (kind === 2) net.partition([ids[1]!], [ids[2]!]);
    else net.block(ids[0]!, ids[1]!);
  }
}

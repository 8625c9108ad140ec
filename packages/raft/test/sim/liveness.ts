/**
 * Liveness while a healthy majority is connected, not only after a full
 * heal: whenever some set of nodes is up, a majority of every configuration
 * the up nodes hold, mutually connected over a calm network, and cut off
 * from every other up node (a half-connected node may legitimately disrupt
 * elections), the cluster must commit new entries within a bounded time.
 * The bound is generous — a few election timeouts at the slowest clock,
 * plus disk stalls — so a violation means a livelock, not bad luck.
 */
import { majority } from "../../src/core/quorum.ts";
import type { NodeId } from "../../src/core/types.ts";
import { SafetyViolation } from "./invariants.ts";
import type { SimCluster } from "./sim-cluster.ts";

/** Watches for healthy-majority spells and demands progress in them. */
export class LivenessMonitor {
  /** Step at which the current healthy spell began, or progress was last made in it. */
  private since: number | undefined;
  private committedAtSince = 0;
  /** Healthy spells seen, and steps spent in them. */
  spells = 0;
  healthySteps = 0;

  constructor(private readonly c: SimCluster, private readonly windowSteps: number) {}

  /** Called once per step of the chaos phase. */
  step(step: number): void {
    const healthy = this.healthyMajority();
    if (healthy === undefined) {
      this.since = undefined;
      return;
    }
    this.healthySteps++;
    const committed = this.c.checker.committed;
    if (this.since === undefined) {
      this.spells++;
      this.since = step;
      this.committedAtSince = committed;
      return;
    }
    if (committed > this.committedAtSince) {
      this.since = step;
      this.committedAtSince = committed;
      return;
    }
    if (step - this.since >= this.windowSteps) {
      throw new SafetyViolation("liveness", `[${healthy.join(",")}] have been up, connected and a majority for ${step - this.since} steps, and nothing was committed`);
    }
  }

  /** The largest set of up nodes that is healthy in the sense above, if it is a majority everywhere. */
  private healthyMajority(): NodeId[] | undefined {
    const c = this.c;
    const f = c.net.faults;
    if (f.dropRate > 0 || f.longDelayChance > 0 || f.delayMs > c.settings.tickMs * 2) return undefined;
    const up = [...c.nodes.values()].filter((n) => n.state === "up");
    const confs = up.map((n) => n.status()!.conf.voters).filter((voters) => voters.length > 0);
    if (confs.length === 0) return undefined;
    // Candidate groups: each up node with everyone it is connected to both ways.
    for (const seed of up) {
      const group = up.filter((n) => n === seed || (c.net.canReach(seed.id, n.id) && c.net.canReach(n.id, seed.id))).map((n) => n.id);
      const connected = group.every((a) => group.every((b) => a === b || c.net.canReach(a, b)));
      const isolated = up.every((n) => group.includes(n.id) || group.every((g) => !c.net.canReach(g, n.id) && !c.net.canReach(n.id, g)));
      if (!connected || !isolated) continue;
      if (confs.every((voters) => voters.filter((v) => group.includes(v)).length >= majority(voters.length))) return group;
    }
    return undefined;
  }
}

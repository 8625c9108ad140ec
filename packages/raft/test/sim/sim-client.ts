/**
 * The simulated clients: they propose application commands (mostly to the
 * node that leads the highest term, sometimes anywhere), issue linearizable
 * reads to every node that believes it leads — deposed leaders included —
 * and check what they are told:
 *
 * - an acknowledged write is the client's own entry (not another leader's
 *   entry at the same index), applied where the history has it;
 * - a linearizable read reflects every write acknowledged before it began,
 *   and returns what the application's reference model says the history
 *   holds at the index it was served at.
 *
 * Operations on a node that crashes never settle; they are dropped with it.
 */
import type { RaftNode } from "../../src/node/raft-node.ts";
import type { Applied } from "./app.ts";
import { entryDigest, SafetyViolation } from "./invariants.ts";
import type { SimNode } from "./sim-node.ts";
import type { SimCluster } from "./sim-cluster.ts";

/** Client operations outstanding at once (a bound, like any client's). */
const PENDING_OPS_MAX = 64;

/** Client counters. */
export interface ClientStats {
  proposed: number;
  acked: number;
  refused: number;
  reads: number;
  readsServed: number;
  transfers: number;
  confChanges: number;
}

interface PendingOp {
  readonly node: SimNode;
  readonly incarnation: number;
}

/** The clients of one run. */
export class SimClients {
  readonly stats: ClientStats = { proposed: 0, acked: 0, refused: 0, reads: 0, readsServed: 0, transfers: 0, confChanges: 0 };
  /** Highest index of a write acknowledged to a client so far. */
  maxAckedIndex = 0;
  /** Every acknowledged write, for the final durability check. */
  readonly acked: { index: number; term: number; digest: number }[] = [];
  private readonly pending = new Set<PendingOp>();

  constructor(private readonly c: SimCluster) {}

  /** Forget operations of a node that died (they will never settle). */
  nodeDown(node: SimNode): void {
    for (const op of this.pending) if (op.node === node) this.pending.delete(op);
  }

  /** The up node that believes it leads the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    for (const n of this.c.nodes.values()) {
      const st = n.raft?.isLeader() === true ? n.status() : undefined;
      if (st !== undefined && st.term > bestTerm) {
        best = n;
        bestTerm = st.term;
      }
    }
    return best;
  }

  /** Propose one command: to the leader mostly, to any up node sometimes (which must refuse or lead). */
  propose(): void {
    const r = this.c.rand;
    const target = r.chance(0.85) ? this.leader() : this.c.randomNode((n) => n.state === "up");
    const raft = target?.raft;
    const app = target?.app;
    if (target === undefined || raft === undefined || app === undefined || this.pending.size >= PENDING_OPS_MAX) return;
    const data = this.c.workload.command(app, r, target.now());
    const digest = entryDigest({ index: 0, term: 0, type: "normal", data });
    this.stats.proposed++;
    this.track(target, raft.propose(data), (a) => this.onAck(target, a, digest));
  }

  private onAck(node: SimNode, a: Applied, digest: number): void {
    if (a.digest !== digest) {
      throw new SafetyViolation("acknowledged write is the client's", `${node.id} acknowledged a proposal with entry ${a.index}/${a.term}, which holds another command`);
    }
    this.stats.acked++;
    this.acked.push({ index: a.index, term: a.term, digest });
    this.c.workload.acked?.(a.result);
    this.maxAckedIndex = Math.max(this.maxAckedIndex, a.index);
  }

  /** A linearizable read through a random node that believes it leads (a deposed leader too). */
  read(): void {
    const leaders = [...this.c.nodes.values()].filter((n) => n.raft?.isLeader() === true);
    const node = leaders[this.c.rand.int(leaders.length)];
    const raft = node?.raft;
    const sm = node?.sm;
    if (node === undefined || raft === undefined || sm === undefined || this.pending.size >= PENDING_OPS_MAX) return;
    const query = this.c.workload.query(this.c.rand);
    const ackedBefore = this.maxAckedIndex;
    this.stats.reads++;
    this.track(node, raft.readIndex(), async (readIndex) => {
      const { index, value } = await sm.readNow(query);
      if (index < readIndex || index < ackedBefore) {
        throw new SafetyViolation("linearizable read", `${node.id} served a read at applied index ${index} (read index ${readIndex}), but a write at ${ackedBefore} was acknowledged before the read began`);
      }
      const wrong = this.c.workload.checkRead(query, value, index);
      if (wrong !== undefined) throw new SafetyViolation("linearizable read", `${node.id}: ${wrong}`);
      this.stats.readsServed++;
    });
  }

  /** Ask the leader to hand over to another voter. */
  transfer(): void {
    const l = this.leader();
    const st = l?.status();
    if (l?.raft === undefined || st === undefined) return;
    const others = st.conf.voters.filter((v) => v !== l.id);
    if (others.length === 0) return;
    this.stats.transfers++;
    this.track(l, l.raft.transferLeader(others[this.c.rand.int(others.length)]!), () => {});
  }

  /** Propose a membership change; now and then a second one right after it (which must wait its turn). */
  changeMembership(): void {
    const l = this.leader();
    this.proposeChange(l);
    if (this.c.rand.chance(0.3)) this.proposeChange(l);
  }

  private proposeChange(l: SimNode | undefined): void {
    const raft = l?.raft;
    const st = l?.status();
    if (l === undefined || raft === undefined || st === undefined) return;
    const { voters, learners } = st.conf;
    const outsiders = [...this.c.nodes.keys()].filter((id) => !voters.includes(id) && !learners.includes(id));
    const choices: Parameters<RaftNode["proposeConfChange"]>[0][] = [];
    for (const x of learners) choices.push({ kind: "addVoter", node: x }, { kind: "removeNode", node: x });
    for (const x of outsiders) choices.push({ kind: "addLearner", node: x }, { kind: "addVoter", node: x });
    if (voters.length > 3) for (const x of voters) choices.push({ kind: "removeNode", node: x });
    if (choices.length === 0) return;
    const change = choices[this.c.rand.int(choices.length)]!;
    // An operator starts a new machine before adding it.
    if (change.kind !== "removeNode" && this.c.nodes.get(change.node)?.incarnations === 0) this.c.restart(change.node);
    this.stats.confChanges++;
    this.track(l, raft.proposeConfChange(change), () => {});
  }

  /** Follows `p`: success goes to `onOk` (whose violations fail the run), expected refusals are counted. */
  private track<T>(node: SimNode, p: Promise<T>, onOk: (v: T) => void | Promise<void>): void {
    const op: PendingOp = { node, incarnation: node.incarnations };
    this.pending.add(op);
    p.then(async (v) => {
      if (!this.pending.delete(op)) return;
      await onOk(v);
    }, (err: unknown) => {
      if (!this.pending.delete(op)) return;
      if ((err as { code?: string }).code === undefined) throw err;
      this.stats.refused++;
    }).catch((err: unknown) => this.c.fail(err));
  }
}

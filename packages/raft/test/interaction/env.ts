/**
 * The interaction environment (etcd-raft's InteractionEnv): pure RaftCores on
 * MemoryStorage, driven one step at a time by the directives of a transcript
 * — tick, process a node's Ready (persist, queue its messages, apply,
 * advance), deliver queued messages — so every message the cores exchange,
 * and its order, is printed and compared. Nothing here is random except each
 * core's seeded election timeout.
 */
import type { RaftConfig } from "../../src/core/config.ts";
import { decodeConfEntry } from "../../src/core/membership.ts";
import { RaftCore } from "../../src/core/raft.ts";
import { SeededRand } from "../../src/core/rand.ts";
import type { ConfChange, ConfState, Message, NodeId } from "../../src/core/types.ts";
import { MemoryStorage } from "../../src/storage/memory-storage.ts";
import type { Directive } from "./datadriven.ts";
import { formatConf, formatEntry, formatMessage, formatReady } from "./format.ts";

interface EnvNode {
  readonly id: NodeId;
  core: RaftCore;
  readonly storage: MemoryStorage;
  /** Membership as of the last applied entry (what a snapshot taken now records). */
  appliedConf: ConfState;
  /** Messages waiting to be delivered to this node, in send order. */
  inbox: Message[];
}

/** Most rounds `stabilize` runs before declaring the cluster stuck in a message loop. */
const STABILIZE_ROUNDS_MAX = 1000;

/** The nodes of one transcript and the commands on them. */
export class InteractionEnv {
  private readonly nodes = new Map<NodeId, EnvNode>();
  private readonly isolated = new Set<NodeId>();
  private raft: Omit<Partial<RaftConfig>, "id" | "applied"> = {};

  /** Runs one directive; returns its output lines. */
  handle(d: Directive): string[] {
    switch (d.command) {
      case "add-nodes": return this.addNodes(d);
      case "tick": return this.tick(this.ids(d), Number(d.opts.get("count") ?? 1));
      case "campaign": return this.campaign(this.node(d.args[0]));
      case "process-ready": return this.ids(d).flatMap((id) => this.processReady(this.node(id)));
      case "deliver-msgs": return this.ids(d).flatMap((id) => this.deliver(this.node(id), d.opts.get("drop")));
      case "stabilize": return this.stabilize(this.ids(d));
      case "propose": return this.result(this.node(d.args[0]).core.propose([new TextEncoder().encode(d.args[1] ?? "")]));
      case "propose-conf-change": return this.result(this.node(d.args[0]).core.proposeConfChange({ kind: d.args[1], node: d.args[2] } as ConfChange));
      case "read-index": return this.result(this.node(d.args[0]).core.readIndex(Number(d.args[1])));
      case "transfer-leader": return this.result(this.node(d.args[0]).core.transferLeader(d.args[1] ?? ""));
      case "report-snapshot": this.node(d.args[0]).core.reportSnapshot(d.args[1] ?? "", d.args[2] === "ok"); return [];
      case "report-unreachable": this.node(d.args[0]).core.reportUnreachable(d.args[1] ?? ""); return [];
      case "compact": return this.compact(this.node(d.args[0]), Number(d.args[1]));
      case "restart": return this.restart(this.node(d.args[0]));
      case "isolate": for (const id of d.args) this.isolated.add(id); return [];
      case "heal": this.isolated.clear(); return [];
      case "status": return this.ids(d).map((id) => this.status(this.node(id)));
      case "raft-log": return this.raftLog(this.node(d.args[0]));
      default: throw new Error(`line ${d.lineNo}: unknown command ${d.command}`);
    }
  }

  /** `add-nodes 3 spares=1 prevote=true checkquorum=true election=10 heartbeat=1`: n1..n3 voters, then spares. */
  private addNodes(d: Directive): string[] {
    const n = Number(d.args[0]);
    const spares = Number(d.opts.get("spares") ?? 0);
    this.raft = {
      preVote: d.opts.get("prevote") !== "false", checkQuorum: d.opts.get("checkquorum") !== "false",
      electionTicks: Number(d.opts.get("election") ?? 10), heartbeatTicks: Number(d.opts.get("heartbeat") ?? 1),
    };
    const voters = Array.from({ length: n }, (_, i) => `n${i + 1}`);
    const out: string[] = [];
    for (let i = 0; i < n + spares; i++) {
      const id = `n${i + 1}`;
      const conf = i < n ? { voters, learners: [] } : { voters: [], learners: [] };
      const storage = new MemoryStorage(conf);
      this.nodes.set(id, { id, core: this.newCore(id, storage, 0), storage, appliedConf: conf, inbox: [] });
      out.push(`${id}: ${formatConf(conf)}`);
    }
    return out;
  }

  private newCore(id: NodeId, storage: MemoryStorage, applied: number): RaftCore {
    // Each node's timeouts come from its own seed: stable across runs, different between nodes.
    return new RaftCore({ ...this.raft, id, applied }, storage, new SeededRand(Number(id.slice(1)) * 7919));
  }

  private tick(ids: readonly NodeId[], count: number): string[] {
    for (const id of ids) for (let i = 0; i < count; i++) this.node(id).core.tick();
    return [];
  }

  /** Ticks `n` until its election timeout fires and it has (pre-)votes to send, at most four election timeouts. */
  private campaign(n: EnvNode): string[] {
    const limit = 4 * (this.raft.electionTicks ?? 10);
    for (let i = 1; i <= limit; i++) {
      n.core.tick();
      if (n.core.hasReady() && (n.core.role === "preCandidate" || n.core.role === "candidate")) {
        return [`${n.id} campaigns after ${i} ticks: ${n.core.role} term=${n.core.term}`];
      }
    }
    return [`${n.id} did not campaign in ${limit} ticks`];
  }

  /** Persist, queue messages, apply, advance: the driver's contract, printed. */
  private processReady(n: EnvNode): string[] {
    if (!n.core.hasReady()) return [];
    const rd = n.core.ready();
    const out = formatReady(n.id, rd);
    if (rd.snapshot) n.storage.installSnapshot(rd.snapshot);
    if (rd.entries.length > 0) n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    for (const m of rd.messages) this.node(m.to).inbox.push(m);
    if (rd.snapshot) n.appliedConf = rd.snapshot.conf;
    for (const e of rd.committedEntries) if (e.type === "conf") n.appliedConf = decodeConfEntry(e.data).conf;
    n.core.advance(rd);
    return out;
  }

  /** Delivers `n`'s inbox in order; `drop` loses all of it ("true") or what one sender sent (its id). */
  private deliver(n: EnvNode, drop: string | undefined): string[] {
    const msgs = n.inbox;
    n.inbox = [];
    return msgs.map((m) => {
      if (drop === "true" || drop === m.from || this.isolated.has(m.from) || this.isolated.has(m.to)) return `dropped: ${formatMessage(m)}`;
      n.core.step(m);
      return formatMessage(m);
    });
  }

  /** Process Readies and deliver messages until nothing moves. */
  private stabilize(ids: readonly NodeId[]): string[] {
    const out: string[] = [];
    for (let round = 0; round < STABILIZE_ROUNDS_MAX; round++) {
      const ready = ids.flatMap((id) => this.processReady(this.node(id)));
      const delivered = ids.flatMap((id) => this.deliver(this.node(id), undefined));
      if (ready.length === 0 && delivered.length === 0) return out;
      out.push(...ready, ...delivered);
    }
    throw new Error(`stabilize did not settle in ${STABILIZE_ROUNDS_MAX} rounds`);
  }

  private result(r: { ok: boolean; code?: string; reason?: string; firstIndex?: number; term?: number }): string[] {
    if (!r.ok) return [`refused: ${r.code} (${r.reason})`];
    return r.firstIndex !== undefined ? [`ok index=${r.firstIndex} term=${r.term}`] : ["ok"];
  }

  /** Takes a snapshot of the applied state at `index` and compacts the log up to it. */
  private compact(n: EnvNode, index: number): string[] {
    const term = n.storage.term(index);
    if (term === undefined) throw new Error(`${n.id} has no entry ${index} to snapshot at`);
    n.storage.compact({ index, term, conf: n.appliedConf }, index + 1);
    return [`${n.id} snapshot ${index}/${term}, log from ${n.storage.firstIndex()}`];
  }

  /** Loses everything volatile: a new core from what the storage holds (the application restarts from the snapshot). */
  private restart(n: EnvNode): string[] {
    n.inbox = [];
    n.core = this.newCore(n.id, n.storage, n.storage.snapshot().index);
    return [this.status(n)];
  }

  private status(n: EnvNode): string {
    const s = n.core.status();
    const peers = s.peers.filter((p) => p.id !== n.id).map((p) => `${p.id}:${p.state}/match=${p.match}/next=${p.next}`).join(" ");
    return `${n.id}: ${s.role} term=${s.term} leader=${s.leader ?? "none"} commit=${s.commit} applied=${s.applied} last=${s.lastIndex} ${formatConf(s.conf)}${peers ? ` progress: ${peers}` : ""}`;
  }

  private raftLog(n: EnvNode): string[] {
    const s = n.storage;
    const out = [`${n.id}: snapshot ${s.snapshot().index}/${s.snapshot().term}, entries ${s.firstIndex()}..${s.lastIndex()}`];
    if (s.lastIndex() >= s.firstIndex()) out.push(...s.entries(s.firstIndex(), s.lastIndex() + 1, Number.MAX_SAFE_INTEGER).map((e) => `  ${formatEntry(e)}`));
    return out;
  }

  private ids(d: Directive): NodeId[] {
    return d.args.length > 0 ? [...d.args] : [...this.nodes.keys()];
  }

  private node(id: string | undefined): EnvNode {
    const n = id === undefined ? undefined : this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${String(id)}`);
    return n;
  }
}

/**
 * Micro-benchmark of the pure Raft core: three RaftCores in one process,
 * driven simulator-style (persist to MemoryStorage, deliver messages at
 * once, apply, advance), no I/O and no timers. Measures committed
 * proposals per second with 128-byte entries, for several proposal batch
 * sizes (entries handed to one propose() call): 1 is "no batching".
 *
 *   pnpm tsx scripts/bench/raft-core.ts [--seconds 2]
 */
import { parseArgs } from "node:util";
import { SeededRand } from "../../packages/raft/src/core/rand.ts";
import { RaftCore } from "../../packages/raft/src/core/raft.ts";
import type { Message, NodeId } from "../../packages/raft/src/core/types.ts";
import { MemoryStorage } from "../../packages/raft/src/storage/memory-storage.ts";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "2" } } });
const SECONDS = Number(values.seconds);
const ENTRY = new Uint8Array(128).fill(0x61);
const BATCH_SIZES = [1, 16, 256, 1024];
/** Compact the log every this many applied entries, keeping memory flat (as the driver does). */
const COMPACT_EVERY = 20_000;
/** Most drive rounds per propose before declaring the cluster stuck (a bound on every loop). */
const ROUNDS_MAX = 10_000;

interface BenchNode {
  readonly core: RaftCore;
  readonly storage: MemoryStorage;
  applied: number;
}

function makeCluster(): Map<NodeId, BenchNode> {
  const ids = ["n1", "n2", "n3"];
  const nodes = new Map<NodeId, BenchNode>();
  for (const [i, id] of ids.entries()) {
    const storage = new MemoryStorage({ voters: ids, learners: [] });
    const core = new RaftCore({ id, electionTicks: 10, heartbeatTicks: 1, inflightMessagesMax: 256, msgEntriesMax: 4096 }, storage, new SeededRand(i + 1));
    nodes.set(id, { core, storage, applied: 0 });
  }
  return nodes;
}

/** Persist, send, apply, advance on every node until nothing is left; returns normal entries committed on `counter`. */
function drive(nodes: Map<NodeId, BenchNode>, counter: NodeId): number {
  let committed = 0;
  let inbox: Message[] = [];
  for (let round = 0; round < ROUNDS_MAX; round++) {
    let busy = false;
    for (const [id, n] of nodes) {
      while (n.core.hasReady()) {
        busy = true;
        const rd = n.core.ready();
        n.storage.write({ ...(rd.snapshot ? { snapshot: rd.snapshot } : {}), entries: rd.entries, ...(rd.hardState ? { hardState: rd.hardState } : {}) });
        for (const m of rd.messages) inbox.push(m);
        for (const e of rd.committedEntries) if (id === counter && e.type === "normal") committed++;
        const last = rd.committedEntries[rd.committedEntries.length - 1];
        if (last !== undefined) n.applied = last.index;
        n.core.advance(rd);
        maybeCompact(n);
      }
    }
    const deliver = inbox;
    inbox = [];
    for (const m of deliver) {
      busy = true;
      nodes.get(m.to)?.core.step(m);
    }
    if (!busy) return committed;
  }
  throw new Error(`cluster did not settle within ${ROUNDS_MAX} rounds`);
}

function maybeCompact(n: BenchNode): void {
  const snap = n.storage.snapshot().index;
  if (n.applied - snap < COMPACT_EVERY) return;
  const term = n.storage.term(n.applied);
  if (term === undefined) return;
  n.storage.compact({ index: n.applied, term, conf: n.storage.snapshot().conf }, n.applied - 1_000 + 1);
}

function electLeader(nodes: Map<NodeId, BenchNode>): NodeId {
  for (let t = 0; t < 1_000; t++) {
    for (const n of nodes.values()) n.core.tick();
    drive(nodes, "");
    for (const [id, n] of nodes) if (n.core.role === "leader") return id;
  }
  throw new Error("no leader after 1,000 ticks");
}

function run(batch: number): { proposals: number; seconds: number } {
  const nodes = makeCluster();
  const leaderId = electLeader(nodes);
  const leader = nodes.get(leaderId)!;
  drive(nodes, leaderId); // commit the leader's noop
  const items = Array.from({ length: batch }, () => ENTRY);
  let committed = 0;
  const started = performance.now();
  const end = started + SECONDS * 1000;
  for (let i = 0; i < 100_000_000 && performance.now() < end; i++) {
    const r = leader.core.propose(items);
    if (!r.ok) throw new Error(`proposal refused: ${r.code}`);
    committed += drive(nodes, leaderId);
  }
  return { proposals: committed, seconds: (performance.now() - started) / 1000 };
}

console.log(`raft-core: 3 in-memory cores, 128-byte entries, ${SECONDS} s per row; node ${process.version}\n`);
console.log("entries per propose()  committed proposals  proposals/s");
console.log("---------------------  -------------------  -----------");
for (const batch of BATCH_SIZES) {
  const r = run(batch);
  console.log(`${String(batch).padStart(21)}  ${String(r.proposals).padStart(19)}  ${(r.proposals / r.seconds).toFixed(0).padStart(11)}`);
}

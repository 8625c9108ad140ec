/**
 * The broker as a simulator application: the real BrokerStateMachine on the
 * simulator's hostile disks (its store through SimVolume), its real snapshot
 * encoding, chunking and restore, and a client workload of every command
 * kind stamped with the proposing node's (skewed) clock.
 *
 * Reads: the number of messages ever published to a "read topic" (r.a,
 * r.b). Only publishes touch those topics (no subscription pattern matches
 * them, no retention or deletion), so the reference model is exact: the
 * count of messages published to the topic in the history up to the index
 * the read was served at.
 */
import type { Guarantee, Priority } from "@raftbus/client/protocol";
import type { SeededRand } from "../../../raft/src/core/rand.ts";
import type { Entry } from "../../../raft/src/core/types.ts";
import type { AppInstance, AppNodeContext, AppWorkload, SimApp } from "../../../raft/test/sim/app.ts";
import { BrokerStateMachine } from "../../src/broker-state-machine.ts";
import { decodeCommand, encodeCommand } from "../../src/commands/codec.ts";
import type { Command } from "../../src/commands/types.ts";
import type { CommandResult } from "../../src/state/results.ts";
import { SimVolume } from "./sim-volume.ts";

const READ_TOPICS = ["r.a", "r.b"];
const TOPICS = ["s.x", "s.y", "s.y.z"];
const PATTERNS = ["s.*", "s.**", "s.x", "re:s\\.(x|y)"];
const SUBS = ["sub0", "sub1", "sub2"];
const PRIORITIES: Priority[] = ["critical", "high", "medium", "low"];
const GUARANTEES: Guarantee[] = ["at-most-once", "at-least-once", "exactly-once"];
/** Deliveries remembered for acks and fails (a bound). */
const OUTSTANDING_MAX = 64;

/** A delivery attempt the broker recorded, not yet acked or failed by the workload. */
interface Outstanding {
  readonly subscription: string;
  readonly topic: string;
  readonly offset: number;
  readonly attempt: number;
}

class BrokerInstance implements AppInstance {
  constructor(readonly stateMachine: BrokerStateMachine) {}

  digest(): Promise<string> {
    return this.stateMachine.digest();
  }

  async read(topic: string): Promise<unknown> {
    const topics = await this.stateMachine.listTopics();
    if (!topics.some((t) => t.name === topic)) return 0;
    return (await this.stateMachine.topicInfo(topic)).published;
  }
}

/** The broker's client workload and its read model. */
class BrokerWorkload implements AppWorkload {
  private seq = 0;
  /** Messages published to each topic in the history (all of them are ever delivered only by offset). */
  private readonly publishedTo = new Map<string, number>();
  /** For read topics: [history index, messages published so far] at each publish. */
  private readonly readCounts = new Map<string, [number, number][]>();
  private readonly outstanding: Outstanding[] = [];
  private readonly subs = new Set<string>();

  command(via: AppInstance, r: SeededRand, now: number): Uint8Array {
    const bsm = (via as BrokerInstance).stateMachine;
    const pick = <T>(xs: readonly T[]): T => xs[r.int(xs.length)]!;
    const x = r.float();
    let cmd: Command;
    if (x < 0.4) {
      const n = 1 + r.int(3);
      const toRead = r.chance(0.3);
      cmd = bsm.buildPublish({
        now, senderId: "sim", newId: () => `g${++this.seq}`,
        messages: Array.from({ length: n }, () => toRead
          ? { topic: pick(READ_TOPICS), payload: Uint8Array.of(r.int(256)) }
          : {
            topic: pick(TOPICS), payload: new TextEncoder().encode(JSON.stringify({ usage: r.int(100) })),
            priority: pick(PRIORITIES), guarantee: pick(GUARANTEES),
            ...(r.chance(0.3) ? { id: `m${r.int(20)}` } : {}),
            ...(r.chance(0.2) ? { ttlMs: 50 + r.int(2000) } : {}),
            ...(r.chance(0.2) ? { producerId: "p", sequence: r.int(10) } : {}),
          }),
      });
    } else if (x < 0.55) {
      cmd = { type: "tick", now };
    } else if (x < 0.6) {
      const name = pick(SUBS);
      this.subs.add(name);
      cmd = {
        type: "createSubscription", now, subscription: bsm.subscriptionSpec({
          name, pattern: pick(PATTERNS), guarantee: pick(GUARANTEES), maxInFlight: 1 + r.int(5), ackTimeoutMs: 100 + r.int(3000),
          maxRetries: r.int(3), backoff: { initialMs: 50, maxMs: 500, multiplier: 2 },
          start: pick(["earliest", "latest", { offset: 1 }] as const), ...(r.chance(0.2) ? { ephemeral: true, sessionId: "sess" } : {}),
        }),
      };
    } else if (x < 0.75 && this.subs.size > 0) {
      const topic = pick(TOPICS);
      const count = this.publishedTo.get(topic) ?? 0;
      cmd = {
        type: "delivery", now,
        delivered: Array.from({ length: 1 + r.int(3) }, () => ({
          subscription: pick([...this.subs]), topic, offset: r.int(count + 1), attempt: 1 + r.int(2), consumerId: pick(["c1", "c2"]),
          // A stale or wrong queue hint now and then: apply must check it and find the message the long way.
          ...(r.chance(0.2) ? { seq: r.int(count + 2), queue: r.int(4) } : {}),
        })),
        // The delivery path's group commit mixes acks and fails of earlier deliveries into the same entry.
        acked: this.settleSome(r, 0.3, (o) => ({ subscription: o.subscription, topic: o.topic, offset: o.offset, attempt: o.attempt })),
        failed: [],
      };
    } else if (x < 0.9 && this.outstanding.length > 0) {
      const o = this.outstanding.splice(r.int(this.outstanding.length), 1)[0]!;
      const ref = { subscription: o.subscription, topic: o.topic, offset: o.offset };
      cmd = r.chance(0.6)
        ? { type: "delivery", now, delivered: [], acked: [{ ...ref, attempt: o.attempt }], failed: [] }
        : { type: "delivery", now, delivered: [], acked: [], failed: [{ ...ref, reason: "sim", ...(r.chance(0.5) ? { attempt: o.attempt } : {}) }] };
    } else {
      cmd = pick<Command>([
        { type: "updateRetention", now, topic: "s.x", retention: { maxMessages: 3 + r.int(10) } },
        { type: "createTopic", now, topic: "s.y", retention: { maxBytes: 400, maxAgeMs: 3000 } },
        { type: "deleteTopic", now, topic: pick(["s.y", "s.y.z"]) },
        { type: "dlqReplay", now, topic: pick(TOPICS), limit: 3 },
        { type: "dlqPurge", now, topic: pick(TOPICS) },
        { type: "maintenance", now, action: pick(["cleanup", "retryFailed", "compact"] as const), topic: pick(TOPICS), includeDlq: r.chance(0.5) },
        { type: "updateSubscription", now, name: pick(SUBS), changes: { maxInFlight: 1 + r.int(4), filter: r.chance(0.5) ? null : "usage > 30" } },
        { type: "deleteSubscription", now, name: pick(SUBS) },
        { type: "expireSession", now, sessionId: "sess" },
      ]);
    }
    return encodeCommand(bsm.checkProposal(cmd));
  }

  acked(result: unknown): void {
    const res = result as CommandResult | undefined;
    if (res === undefined || !res.ok || res.type !== "delivery") return;
    for (const d of res.delivered) {
      this.outstanding.push({ subscription: d.subscription, topic: d.topic, offset: d.offset, attempt: d.attempt });
      if (this.outstanding.length > OUTSTANDING_MAX) this.outstanding.shift();
    }
  }

  /** Takes each outstanding delivery with probability `p` (at most 3) and maps it to an item. */
  private settleSome<T>(r: SeededRand, p: number, item: (o: Outstanding) => T): T[] {
    const out: T[] = [];
    for (let i = this.outstanding.length - 1; i >= 0 && out.length < 3; i--) {
      if (r.chance(p)) out.push(item(this.outstanding.splice(i, 1)[0]!));
    }
    return out;
  }

  query(r: SeededRand): string {
    return READ_TOPICS[r.int(READ_TOPICS.length)]!;
  }

  historyApplied(e: Entry): void {
    if (e.type !== "normal") return;
    const cmd = decodeCommand(e.data);
    if (cmd.type !== "publish") return;
    for (const m of cmd.messages) {
      const n = (this.publishedTo.get(m.topic) ?? 0) + 1;
      this.publishedTo.set(m.topic, n);
      if (!READ_TOPICS.includes(m.topic)) continue;
      let list = this.readCounts.get(m.topic);
      if (list === undefined) this.readCounts.set(m.topic, (list = []));
      list.push([e.index, n]);
    }
  }

  checkRead(topic: string, value: unknown, index: number): string | undefined {
    let want = 0;
    for (const [i, n] of this.readCounts.get(topic) ?? []) {
      if (i > index) break;
      want = n;
    }
    return value === want ? undefined : `topic ${topic} reports ${String(value)} messages published, the history holds ${want} at index ${index}`;
  }
}

/** The broker application. */
export const brokerApp: SimApp = {
  name: "broker",
  open: async (ctx: AppNodeContext) => new BrokerInstance(await BrokerStateMachine.open(new SimVolume(ctx))),
  workload: () => new BrokerWorkload(),
};

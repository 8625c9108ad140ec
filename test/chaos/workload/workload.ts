/**
 * The chaos workload, through the public SDK only: plain publishers with
 * client-chosen ids (retrying an unknown outcome with the same id, and now
 * and then resending an acknowledged one), an idempotent producer
 * (producer id + sequence), subscribers of every guarantee (durable
 * at-least-once with poison messages that must end in the DLQ,
 * exactly-once, a three-member work queue, an ephemeral at-most-once one, a
 * filtered wildcard one), request/reply, and topic create/delete. Every
 * operation and delivery goes into the {@link History}.
 */
import type { Msg, RaftbusClient, Subscription } from "@raftbus/client";
import { SeededRand } from "@raftbus/raft";
import { sleep } from "../../support/local-cluster.ts";
import type { ChaosCluster } from "../cluster/chaos-cluster.ts";
import { type History, type OpRecord, codeOf, outcomeOf } from "./history.ts";
import { SUBSCRIPTIONS, type SubSpec, type WorkloadPayload, parsePayload } from "./spec.ts";

/** Workload knobs. */
export interface WorkloadOptions {
  /** Target operations per second of each publishing loop. */
  readonly rate: number;
  readonly seed: number;
}

/** Attempts of one publish before the loop moves on (each attempt is recorded). */
const PUBLISH_ATTEMPTS_MAX = 4;
/** Client request deadline: long enough to ride out an election, short enough to record unavailability. */
const REQUEST_TIMEOUT_MS = 5000;

/** Runs the clients of one chaos run. */
export class Workload {
  private running = false;
  private readonly loops: Promise<void>[] = [];
  private readonly subscriberLoops: Promise<void>[] = [];
  private readonly clients: RaftbusClient[] = [];
  private readonly subs = new Set<Subscription>();
  private readonly rand: SeededRand;
  /** Keys each durable subscription has been handed (union of members), for draining. */
  readonly delivered = new Map<string, Set<string>>();
  /** Keys acknowledged to a publisher, with what each subscription must see of them. */
  private readonly acked: { key: string; topic: string; payload: WorkloadPayload }[] = [];
  private subscribing = true;
  /** Every payload sent, by key (the checker needs the filter fields of stored messages). */
  readonly payloads = new Map<string, WorkloadPayload>();

  constructor(private readonly cluster: ChaosCluster, private readonly history: History, private readonly o: WorkloadOptions) {
    this.rand = new SeededRand(o.seed);
    for (const s of SUBSCRIPTIONS) this.delivered.set(s.name, new Set());
  }

  private async client(name: string): Promise<RaftbusClient> {
    const c = await this.cluster.connect(name, { timeoutMs: REQUEST_TIMEOUT_MS });
    this.clients.push(c);
    return c;
  }

  /** Subscribe everyone (durable ones from the earliest offset), then start publishing. */
  async start(): Promise<void> {
    this.running = true;
    for (const spec of SUBSCRIPTIONS) {
      for (let m = 0; m < spec.members; m++) {
        const proc = spec.members > 1 ? `${spec.name}-${m + 1}` : spec.name;
        const c = await this.client(proc);
        const first = await this.subscribe(c, spec, proc);
        this.subscriberLoops.push(this.keepSubscribed(c, spec, proc, first));
      }
    }
    const responder = await this.client("responder");
    this.subs.add(await responder.reply("chaos.rpc", (msg) => ({ k: (msg.json() as { k: string }).k }), { timeoutMs: REQUEST_TIMEOUT_MS }));
    this.loops.push(this.publishLoop(await this.client("pub-1"), "pub-1", () => "chaos.orders"));
    this.loops.push(this.publishLoop(await this.client("pub-2"), "pub-2",
      (n) => (n % 3 === 0 ? "chaos.events" : n % 3 === 1 ? "chaos.alerts.disk" : n % 3 === 2 ? "chaos.alerts.cpu" : "")));
    this.loops.push(this.produceLoop(await this.client("prod-1"), "prod-1"));
    this.loops.push(this.requestLoop(await this.client("req"), "req"));
    this.loops.push(this.adminLoop(await this.client("admin"), "admin"));
  }

  /** Stop publishing, requests and admin operations; subscribers keep consuming. */
  async stopPublishing(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops.splice(0));
  }

  /**
   * Wait (bounded) until every durable subscription has been handed every
   * acknowledged message it must see. Returns the keys still missing.
   */
  async drain(timeoutMs: number): Promise<number> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const missing = this.missing();
      if (missing === 0 || Date.now() > end) return missing;
      await sleep(250);
    }
  }

  private missing(): number {
    let missing = 0;
    for (const spec of SUBSCRIPTIONS.filter((s) => s.durable)) {
      const got = this.delivered.get(spec.name)!;
      for (const a of this.acked) if (spec.matches(a.topic, a.payload) && !got.has(a.key)) missing++;
    }
    return missing;
  }

  /** Close subscriptions (durable state stays on the cluster) and clients. */
  async close(): Promise<void> {
    this.subscribing = false;
    this.running = false;
    await Promise.all([...this.subs].map((s) => s.unsubscribe().catch(() => undefined)));
    await Promise.all(this.clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all([...this.loops.splice(0), ...this.subscriberLoops.splice(0)]);
  }

  private op(r: Omit<OpRecord, "t" | "end" | "node">, client: RaftbusClient): void {
    const node = client.info?.nodeId;
    this.history.add({ t: "op", ...r, end: Date.now(), ...(node !== undefined ? { node } : {}) });
  }

  private payload(key: string, topic: string): WorkloadPayload {
    const sev = topic.startsWith("chaos.alerts.") && this.rand.chance(0.5) ? "critical" : "info";
    const p: WorkloadPayload = { k: key, sev, ...(topic === "chaos.orders" && this.rand.chance(0.03) ? { poison: true } : {}) };
    this.payloads.set(key, p);
    return p;
  }

  private async pace(): Promise<void> {
    await sleep(1000 / this.o.rate);
  }

  private async publishLoop(client: RaftbusClient, proc: string, topicOf: (n: number) => string): Promise<void> {
    for (let n = 0; this.running; n++) {
      const topic = topicOf(n);
      const key = `${proc}-${n}`;
      const payload = this.payload(key, topic);
      for (let attempt = 0; attempt < PUBLISH_ATTEMPTS_MAX; attempt++) {
        if (await this.publishOnce(client, proc, key, topic, payload)) {
          // Now and then resend an acknowledged message, as a client that lost the answer would.
          if (this.rand.chance(0.05)) await this.publishOnce(client, proc, key, topic, payload);
          break;
        }
        await sleep(100 * (attempt + 1));
      }
      await this.pace();
    }
  }

  private async publishOnce(client: RaftbusClient, proc: string, key: string, topic: string, payload: WorkloadPayload): Promise<boolean> {
    const start = Date.now();
    try {
      const r = await client.publish(topic, payload, { id: key, timeoutMs: REQUEST_TIMEOUT_MS });
      this.op({ proc, f: "publish", start, outcome: "ok", value: { key, topic, offset: r.offset, duplicate: r.duplicate } }, client);
      this.acked.push({ key, topic, payload });
      return true;
    } catch (err) {
      const code = codeOf(err);
      this.op({ proc, f: "publish", start, outcome: outcomeOf(code), error: code, value: { key, topic } }, client);
      return false;
    }
  }

  private async produceLoop(client: RaftbusClient, proc: string): Promise<void> {
    const publisher = client.publisher({ producerId: `${proc}-${this.o.seed}`, windowMax: 20, timeoutMs: 20_000 });
    const settled: Promise<void>[] = [];
    for (let n = 0; this.running; n++) {
      const key = `${proc}-${n}`;
      const topic = "chaos.orders";
      const payload = this.payload(key, topic);
      const start = Date.now();
      try {
        const pending = await publisher.publish(topic, payload);
        settled.push(pending.committed.then((r) => {
          this.op({ proc, f: "produce", start, outcome: "ok", value: { key, topic, offset: r.offset, duplicate: r.duplicate } }, client);
          this.acked.push({ key, topic, payload });
        }, (err: unknown) => {
          const code = codeOf(err);
          this.op({ proc, f: "produce", start, outcome: outcomeOf(code), error: code, value: { key, topic } }, client);
        }));
      } catch (err) {
        const code = codeOf(err);
        this.op({ proc, f: "produce", start, outcome: outcomeOf(code), error: code, value: { key, topic } }, client);
        await sleep(200);
      }
      if (settled.length > 1000) await Promise.all(settled.splice(0, 500));
      await this.pace();
    }
    await Promise.all(settled);
    await publisher.close().catch(() => undefined);
  }

  private async requestLoop(client: RaftbusClient, proc: string): Promise<void> {
    for (let n = 0; this.running; n++) {
      const key = `${proc}-${n}`;
      const start = Date.now();
      try {
        const reply = await client.request("chaos.rpc", { k: key }, { timeoutMs: 3000 });
        const got = (reply.json() as { k?: unknown }).k;
        this.op({ proc, f: "request", start, outcome: "ok", value: { key, reply: typeof got === "string" ? got : String(got) } }, client);
      } catch (err) {
        const code = codeOf(err);
        this.op({ proc, f: "request", start, outcome: outcomeOf(code), error: code, value: { key } }, client);
      }
      await sleep(4000 / this.o.rate);
    }
  }

  private async adminLoop(client: RaftbusClient, proc: string): Promise<void> {
    const live: string[] = [];
    for (let n = 0; this.running; n++) {
      const deleting = live.length > 0 && this.rand.chance(0.5);
      const topic = deleting ? live.shift()! : `chaos.tmp.t${n}`;
      const start = Date.now();
      try {
        if (deleting) await client.topics.delete(topic);
        else await client.topics.create(topic, { retention: { maxMessages: 100 + this.rand.int(1000) } });
        this.op({ proc, f: deleting ? "topic-delete" : "topic-create", start, outcome: "ok", value: { topic } }, client);
        if (!deleting) live.push(topic);
      } catch (err) {
        const code = codeOf(err);
        this.op({ proc, f: deleting ? "topic-delete" : "topic-create", start, outcome: outcomeOf(code), error: code, value: { topic } }, client);
      }
      await sleep(1500);
    }
  }

  private subscribe(client: RaftbusClient, spec: SubSpec, proc: string): Promise<Subscription> {
    const onError = (): void => undefined; // failures are recorded by the handler itself
    return client.subscribe(spec.pattern, {
      ...(spec.durable ? { name: spec.name, from: "earliest" as const } : { from: "latest" as const }),
      guarantee: spec.guarantee, maxInFlight: 50, autoAck: false, onError, timeoutMs: REQUEST_TIMEOUT_MS,
      ...(spec.filter !== undefined ? { filter: spec.filter } : {}),
      ...(spec.ackTimeoutMs !== undefined ? { ackTimeoutMs: spec.ackTimeoutMs } : {}),
      ...(spec.maxRetries !== undefined ? { maxRetries: spec.maxRetries, backoff: { initialMs: 200, maxMs: 1000, multiplier: 2 } } : {}),
      handler: (msg) => this.handle(client, spec, proc, msg),
    });
  }

  /** Re-subscribe whenever the subscription ends while the run goes on. */
  private async keepSubscribed(client: RaftbusClient, spec: SubSpec, proc: string, first: Subscription): Promise<void> {
    let sub: Subscription | undefined = first;
    while (this.subscribing) {
      if (sub !== undefined) {
        this.subs.add(sub);
        const reason = await sub.closed;
        this.subs.delete(sub);
        if (!this.subscribing) return;
        this.history.note(`${proc}: subscription ended (${reason === undefined ? "closed" : codeOf(reason)}); subscribing again`);
      }
      await sleep(500);
      sub = await this.subscribe(client, spec, proc).catch(() => undefined);
    }
  }

  private async handle(client: RaftbusClient, spec: SubSpec, proc: string, msg: Msg): Promise<void> {
    const p = parsePayload(msg.data);
    const key = p?.k ?? `?${msg.id}`;
    const node = client.info?.nodeId;
    this.history.add({
      t: "deliver", proc, sub: spec.name, time: Date.now(), key, topic: msg.topic, offset: msg.offset,
      attempt: msg.attempt, redelivered: msg.redelivered, ...(node !== undefined ? { node } : {}),
    });
    this.delivered.get(spec.name)?.add(key);
    if (spec.guarantee === "at-most-once") return;
    const start = Date.now();
    const value = { key, topic: msg.topic, offset: msg.offset, sub: spec.name };
    try {
      if (p?.poison === true && spec.name === "alo-orders") await msg.fail("poison");
      else await msg.ack();
      this.op({ proc, f: "ack", start, outcome: "ok", value }, client);
    } catch (err) {
      const code = codeOf(err);
      this.op({ proc, f: "ack", start, outcome: outcomeOf(code), error: code, value }, client);
    }
  }
}

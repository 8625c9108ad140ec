/**
 * A FAKE raftbus cluster for SDK tests: ws servers on 127.0.0.1 (port 0) that
 * speak the client protocol with canned behaviour. One shared in-memory state
 * stands in for the replicated broker; a configurable node is the leader and
 * the others answer NOT_LEADER with its address. Tests steer it: move the
 * leader (with or without a push), drop connections, intercept requests,
 * redeliver messages, lose acks.
 *
 * It is not the broker: no Raft, no persistence, just enough semantics
 * (offsets, dedup by id and producer sequence, credit, durable acked state,
 * redelivery) to check what the SDK does with them.
 */
import { WebSocketServer, type WebSocket } from "ws";
import type { AddressInfo } from "node:net";
import {
  decodeClientFrame, DEFAULT_SERVER_LIMITS, encodeFrame, FOLLOWER_KINDS, RaftbusError,
  type AnyRequestFrame, type Delivery, type ErrorInfo, type Guarantee, type PublishAck, type PublishOutcome,
  type RequestKind, type ResponseBodies, type ServerFrame, type ServerLimits, type StoredMessage,
} from "../src/protocol/index.ts";

/** What an interceptor decides for a request: answer normally, answer with this, or drop the connection. */
export type Intercept =
  | undefined
  | { readonly error: ErrorInfo }
  | { readonly drop: "before" | "after" }
  | { readonly hold: Promise<void> };

/** A request as the fake saw it. */
export interface SeenRequest {
  readonly node: string;
  readonly session: string;
  readonly frame: AnyRequestFrame;
}

interface FakeSub {
  readonly id: string;
  readonly conn: FakeConn;
  readonly pattern: string;
  readonly name: string | undefined;
  readonly guarantee: Guarantee;
  readonly filter: string | undefined;
  credit: number;
  readonly queue: StoredMessage[];
}

/** The fake understands one filter shape, `field > number` over JSON payloads. */
function passes(filter: string | undefined, m: StoredMessage): boolean {
  const match = filter === undefined ? null : /^(\w+)\s*>\s*(\d+)$/.exec(filter.trim());
  if (match === null) return true;
  try {
    const value = (JSON.parse(Buffer.from(m.payload).toString("utf8")) as Record<string, unknown>)[match[1] ?? ""];
    return typeof value === "number" && value > Number(match[2]);
  } catch {
    return false;
  }
}

interface DurableState {
  readonly acked: Set<string>;
  readonly start: Map<string, number>;
}

function keyOf(m: { topic: string; offset: number }): string {
  return `${m.topic}#${m.offset}`;
}

/** Exact, `a.*` and `a.**` patterns (enough for the SDK tests). */
export function matches(pattern: string, topic: string): boolean {
  const p = pattern.split(".");
  const t = topic.split(".");
  for (let i = 0; i < p.length; i++) {
    const seg = p[i];
    if (seg === "**") return t.length > i;
    if (i >= t.length) return false;
    if (seg !== "*" && seg !== t[i]) return false;
  }
  return p.length === t.length;
}

class FakeConn {
  readonly subs = new Map<string, FakeSub>();
  sessionId = "";
  clientId = "";
  constructor(readonly node: FakeNode, readonly ws: WebSocket) {}
  send(frame: ServerFrame): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeFrame(frame));
  }
}

/** One fake node: a ws server. */
export class FakeNode {
  readonly conns = new Set<FakeConn>();
  address = "";
  #wss: WebSocketServer | undefined;
  constructor(readonly id: string, readonly cluster: FakeCluster) {}

  async listen(port = 0): Promise<void> {
    const wss = new WebSocketServer({ host: "127.0.0.1", port });
    this.#wss = wss;
    await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
    this.address = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    wss.on("connection", (ws) => {
      const conn = new FakeConn(this, ws);
      this.conns.add(conn);
      ws.on("message", (data: Buffer) => void this.cluster.onFrame(conn, data));
      ws.on("close", () => {
        this.conns.delete(conn);
        this.cluster.dropSubs(conn);
      });
    });
  }

  /** Send `frame` to every client of this node. */
  push(frame: ServerFrame): void {
    for (const conn of this.conns) conn.send(frame);
  }

  /** Terminate every client connection of this node (a crash, as the client sees it). */
  dropConnections(): void {
    for (const conn of this.conns) conn.ws.terminate();
  }

  /** Stop listening and drop clients. */
  async close(): Promise<void> {
    this.dropConnections();
    const wss = this.#wss;
    this.#wss = undefined;
    if (wss !== undefined) await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
}

/** The fake cluster and its shared "replicated" state. */
export class FakeCluster {
  readonly nodes: FakeNode[] = [];
  leaderId: string | null;
  token: string | undefined;
  limits: ServerLimits = DEFAULT_SERVER_LIMITS;
  readonly seen: SeenRequest[] = [];
  readonly topics = new Map<string, StoredMessage[]>();
  readonly byId = new Map<string, PublishAck>();
  readonly bySequence = new Map<string, PublishAck>();
  readonly durables = new Map<string, DurableState>();
  readonly subs = new Map<string, FakeSub>();
  /** Called for every request before it is handled. */
  intercept: (req: SeenRequest) => Intercept = () => undefined;
  /** When true, acks are answered but not recorded (a lost ack). */
  loseAcks = false;
  /** Nodes cut off from the leader (a partition): they know no leader and answer NO_LEADER. */
  readonly leaderless = new Set<string>();
  /** Nodes removed from the cluster: they refuse hellos with NOT_MEMBER (naming the leader when `hint`). */
  readonly removed = new Map<string, { readonly hint: boolean }>();
  /** Member addresses announced in welcomes (none when undefined). */
  servers: string[] | undefined;
  #nextSub = 1;
  #nextSession = 1;
  #index = 0;

  private constructor(ids: readonly string[]) {
    for (const id of ids) this.nodes.push(new FakeNode(id, this));
    this.leaderId = ids[0] ?? null;
  }

  /** Start `n` nodes (ids n1, n2…); n1 leads. */
  static async start(n: number): Promise<FakeCluster> {
    const cluster = new FakeCluster(Array.from({ length: n }, (_, i) => `n${i + 1}`));
    await Promise.all(cluster.nodes.map((node) => node.listen()));
    return cluster;
  }

  node(id: string): FakeNode {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  get leader(): FakeNode {
    if (this.leaderId === null) throw new Error("no leader");
    return this.node(this.leaderId);
  }

  get addresses(): string[] {
    return this.nodes.map((n) => n.address);
  }

  /** Requests of `kind` seen so far. */
  requests<K extends RequestKind>(kind: K): Extract<AnyRequestFrame, { kind: K }>[] {
    return this.seen.filter((s) => s.frame.kind === kind).map((s) => s.frame as Extract<AnyRequestFrame, { kind: K }>);
  }

  /** Messages stored in `topic`. */
  log(topic: string): StoredMessage[] {
    return this.topics.get(topic) ?? [];
  }

  /** The leader as node `id` sees it. */
  leaderOf(id: string): string | null {
    return this.leaderless.has(id) ? null : this.leaderId;
  }

  /** Cut node `id` off from the leader (or heal it); it pushes leader-changed to its clients. */
  partition(id: string, cut: boolean): void {
    if (cut) this.leaderless.add(id);
    else this.leaderless.delete(id);
    const leaderId = this.leaderOf(id);
    const leaderAddress = leaderId === null ? null : this.node(leaderId).address;
    for (const conn of this.node(id).conns) conn.send({ t: "leader-changed", leaderId, leaderAddress, term: 3 });
  }

  /** Move leadership; `push` sends leader-changed to every client of every node. */
  setLeader(id: string | null, push: boolean): void {
    this.leaderId = id;
    if (!push) return;
    const leaderAddress = id === null ? null : this.node(id).address;
    for (const node of this.nodes) for (const conn of node.conns) conn.send({ t: "leader-changed", leaderId: id, leaderAddress, term: 2 });
  }

  /** Push the messages of `topic` at `offsets` again to every matching subscription (attempt 2). */
  redeliver(topic: string, offsets: readonly number[]): void {
    for (const sub of this.subs.values()) {
      if (!matches(sub.pattern, topic)) continue;
      const messages = this.log(topic).filter((m) => offsets.includes(m.offset));
      sub.conn.send({ t: "deliver", subscriptionId: sub.id, messages: messages.map((m) => ({ ...m, attempt: 2 })) });
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()));
  }

  dropSubs(conn: FakeConn): void {
    for (const id of conn.subs.keys()) this.subs.delete(id);
    conn.subs.clear();
  }

  async onFrame(conn: FakeConn, data: Buffer): Promise<void> {
    let frame;
    try {
      frame = decodeClientFrame(new Uint8Array(data));
    } catch (err) {
      const info = (err as RaftbusError).toInfo();
      conn.send({ t: "res", id: Number(info.details?.["requestId"] ?? 0), ok: false, error: info });
      return;
    }
    if (frame.t === "hello") {
      if (this.token !== undefined && frame.token !== this.token) {
        conn.send({ t: "refused", error: { code: "UNAUTHORIZED", message: "bad token" } });
        conn.ws.close();
        return;
      }
      const removed = this.removed.get(conn.node.id);
      if (removed !== undefined) {
        const hint = removed.hint && this.leaderId !== null ? { leaderHint: this.node(this.leaderId).address } : {};
        conn.send({ t: "refused", error: { code: "NOT_MEMBER", message: `${conn.node.id} is not a member`, ...hint } });
        conn.ws.close();
        return;
      }
      conn.sessionId = `s${this.#nextSession++}`;
      conn.clientId = frame.clientId;
      const leaderId = this.leaderOf(conn.node.id);
      const leaderAddress = leaderId === null ? null : this.node(leaderId).address;
      conn.send({
        t: "welcome", version: 1, nodeId: conn.node.id, leaderId, leaderAddress, sessionId: conn.sessionId, limits: this.limits,
        ...(this.servers !== undefined ? { servers: this.servers } : {}),
      });
      return;
    }
    const seen: SeenRequest = { node: conn.node.id, session: conn.sessionId, frame };
    this.seen.push(seen);
    const decision = this.intercept(seen);
    if (decision !== undefined && "hold" in decision) await decision.hold;
    if (decision !== undefined && "error" in decision) {
      conn.send({ t: "res", id: frame.id, kind: frame.kind, ok: false, error: decision.error });
      return;
    }
    if (decision !== undefined && "drop" in decision && decision.drop === "before") {
      conn.ws.terminate();
      return;
    }
    if (conn.node.id !== this.leaderOf(conn.node.id) && !FOLLOWER_KINDS.includes(frame.kind)) {
      const leaderId = this.leaderOf(conn.node.id);
      const leaderHint = leaderId === null ? undefined : this.node(leaderId).address;
      const error: ErrorInfo = leaderHint === undefined
        ? { code: "NO_LEADER", message: "election in progress" }
        : { code: "NOT_LEADER", message: `${conn.node.id} is a follower`, leaderHint };
      conn.send({ t: "res", id: frame.id, kind: frame.kind, ok: false, error });
      return;
    }
    let body: unknown;
    try {
      body = this.#handle(conn, frame);
    } catch (err) {
      conn.send({ t: "res", id: frame.id, kind: frame.kind, ok: false, error: (err as RaftbusError).toInfo() });
      return;
    }
    if (decision !== undefined && "drop" in decision) {
      conn.ws.terminate(); // applied, but the answer is lost
      return;
    }
    conn.send({ t: "res", id: frame.id, kind: frame.kind, ok: true, body } as ServerFrame);
    if (frame.kind === "subscribe" || frame.kind === "credit" || frame.kind === "ack" || frame.kind === "fail") this.#pumpAll();
  }

  #handle(conn: FakeConn, frame: AnyRequestFrame): ResponseBodies[RequestKind] {
    switch (frame.kind) {
      case "ping": return { nodeId: conn.node.id, time: Date.now() };
      case "publish": {
        const results: PublishOutcome[] = frame.body.messages.map((m) => ({ ok: true, ack: this.#publish(conn, m) }));
        queueMicrotask(() => this.#pumpAll());
        return { results };
      }
      case "subscribe": return this.#subscribe(conn, frame.body);
      case "credit": {
        const sub = this.#sub(conn, frame.body.subscriptionId);
        sub.credit += frame.body.credit;
        return { credit: sub.credit };
      }
      case "ack": {
        const sub = this.#sub(conn, frame.body.subscriptionId);
        sub.credit += frame.body.credit ?? 0; // credit rides on the ack
        if (!this.loseAcks && sub.name !== undefined) for (const ref of frame.body.messages) this.durables.get(sub.name)?.acked.add(keyOf(ref));
        return { acked: frame.body.messages.length };
      }
      case "fail": {
        const sub = this.#sub(conn, frame.body.subscriptionId);
        sub.credit += frame.body.credit ?? 0;
        return { failed: frame.body.messages.length, deadLettered: 0 };
      }
      case "unsubscribe": {
        const sub = this.#sub(conn, frame.body.subscriptionId);
        conn.subs.delete(frame.body.subscriptionId);
        this.subs.delete(frame.body.subscriptionId);
        if (frame.body.delete === true && sub.name !== undefined) this.durables.delete(sub.name);
        return {};
      }
      case "topic.create": return { name: frame.body.topic, retention: frame.body.retention ?? {}, messages: 0, bytes: 0, firstOffset: null, lastOffset: null, createdAt: 1 };
      case "topic.list": return { topics: [...this.topics.keys()].map((name) => ({ name, retention: {}, messages: this.log(name).length, bytes: 0, firstOffset: 0, lastOffset: this.log(name).length - 1, createdAt: 1 })) };
      case "topic.info": {
        if (!this.topics.has(frame.body.topic)) throw new RaftbusError("TOPIC_NOT_FOUND", `no topic ${frame.body.topic}`);
        return { name: frame.body.topic, retention: {}, messages: this.log(frame.body.topic).length, bytes: 0, firstOffset: 0, lastOffset: 0, createdAt: 1, publishRatePerSec: 0, subscriptions: [], deadLettered: 0 };
      }
      case "topic.delete": return { topic: frame.body.topic, messagesRemoved: this.log(frame.body.topic).length };
      case "subscription.list": return { subscriptions: [] };
      case "dlq.list": return { messages: [] };
      case "dlq.replay": return { replayed: frame.body.ids?.length ?? 0 };
      case "dlq.purge": return { purged: 3 };
      case "maintenance": return { kind: frame.body.kind, affected: 7, durationMs: 1 };
      case "stats": return { topics: this.topics.size, subscriptions: this.subs.size, messages: 0, bytes: 0, published: 0, delivered: 0, acked: 0, failed: 0, retried: 0, deadLettered: 0, publishRatePerSec: 0, deliverRatePerSec: 0, nodes: [] };
      case "cluster.status": return { nodeId: conn.node.id, leaderId: this.leaderId, term: 1, commitIndex: this.#index, nodes: this.nodes.map((n) => ({ id: n.id, clientAddress: n.address, peerAddress: "", role: n.id === this.leaderId ? "leader" as const : "follower" as const, voter: true, healthy: true, term: 1, commitIndex: this.#index, appliedIndex: this.#index, matchIndex: null, lastContactMs: null })) };
      case "cluster.add-node": return { index: ++this.#index, members: [{ id: frame.body.id, peerAddress: frame.body.peerAddress, clientAddress: frame.body.clientAddress, voter: frame.body.voter ?? true }] };
      case "cluster.remove-node": return { index: ++this.#index, members: [] };
      case "cluster.transfer-leader": return { from: this.leaderId ?? "", to: frame.body.to ?? "n2" };
      case "sys.status":
      case "sys.set": return { nodeId: conn.node.id, signing: "unsigned", keyId: null, families: [], queued: 0 };
      case "sys.diagnose": return { requestId: "r1" };
      case "sys.forward": return { accepted: frame.body.messages.length };
      case "key.add": return { name: frame.body.name, pattern: frame.body.pattern, key: `rbtk1.${frame.body.name}.${"A".repeat(43)}`, fingerprint: "00000000" };
      case "key.list": return { keys: [] };
      case "key.remove": return { name: frame.body.name };
      case "cluster.finalize-upgrade": return { previous: 1, version: frame.body.version ?? 2, enabled: [], members: this.nodes.map((n) => ({ id: n.id, clusterVersionMax: 2 })) };
      case "backup.open":
      case "backup.read":
      case "backup.close": throw new RaftbusError("BAD_REQUEST", "the fake server keeps no state to back up");
      case "user.add":
        return { name: frame.body.name, token: `rbu1.${frame.body.name}.fake`, grants: [...frame.body.grants] };
      case "user.rotate": return { name: frame.body.name, token: `rbu1.${frame.body.name}.fake2`, grants: [] };
      case "user.grant":
      case "user.remove": return { name: frame.body.name };
      case "user.list": return { users: [] };
    }
  }

  #sub(conn: FakeConn, id: string): FakeSub {
    const sub = conn.subs.get(id);
    if (sub === undefined) throw new RaftbusError("SUBSCRIPTION_NOT_FOUND", `no subscription ${id}`);
    return sub;
  }

  #publish(conn: FakeConn, m: { topic: string; payload: Uint8Array; id?: string; producerId?: string; sequence?: number; priority?: StoredMessage["priority"]; guarantee?: Guarantee; correlationId?: string; headers?: Readonly<Record<string, string>>; maxRetries?: number; ttlMs?: number }): PublishAck {
    const seqKey = m.producerId !== undefined && m.sequence !== undefined ? `${m.producerId}:${m.sequence}` : undefined;
    const earlier = (seqKey !== undefined ? this.bySequence.get(seqKey) : undefined) ?? (m.id !== undefined ? this.byId.get(m.id) : undefined);
    if (earlier !== undefined) return { ...earlier, duplicate: true };
    const log = this.topics.get(m.topic) ?? [];
    this.topics.set(m.topic, log);
    const stored: StoredMessage = {
      id: m.id ?? `gen-${this.#index + 1}`,
      topic: m.topic,
      payload: m.payload,
      senderId: conn.clientId,
      timestamp: Date.now(),
      priority: m.priority ?? "medium",
      guarantee: m.guarantee ?? "at-least-once",
      maxRetries: m.maxRetries ?? 5,
      headers: m.headers ?? {},
      offset: log.length,
      index: ++this.#index,
      ...(m.correlationId !== undefined ? { correlationId: m.correlationId } : {}),
      ...(m.ttlMs !== undefined ? { ttlMs: m.ttlMs } : {}),
    };
    log.push(stored);
    const ack: PublishAck = { topic: m.topic, offset: stored.offset, index: stored.index, duplicate: false };
    if (seqKey !== undefined) this.bySequence.set(seqKey, ack);
    if (m.id !== undefined) this.byId.set(m.id, ack);
    for (const sub of this.subs.values()) if (matches(sub.pattern, m.topic) && passes(sub.filter, stored)) sub.queue.push(stored);
    return ack;
  }

  #subscribe(conn: FakeConn, body: { pattern: string; name?: string; filter?: string; guarantee?: Guarantee; from?: unknown; credit?: number; maxInFlight?: number }): ResponseBodies["subscribe"] {
    const id = `sub${this.#nextSub++}`;
    const maxInFlight = Math.min(body.maxInFlight ?? 100, this.limits.maxInFlight);
    const sub: FakeSub = { id, conn, pattern: body.pattern, name: body.name, guarantee: body.guarantee ?? "at-least-once", filter: body.filter, credit: Math.min(body.credit ?? maxInFlight, maxInFlight), queue: [] };
    let resumed = false;
    let state: DurableState | undefined;
    if (body.name !== undefined) {
      state = this.durables.get(body.name);
      resumed = state !== undefined;
      if (state === undefined) {
        state = { acked: new Set(), start: new Map() };
        for (const [topic, log] of this.topics) state.start.set(topic, body.from === "earliest" ? 0 : log.length);
        this.durables.set(body.name, state);
      }
    }
    for (const [topic, log] of this.topics) {
      if (!matches(body.pattern, topic)) continue;
      const start = state !== undefined ? (state.start.get(topic) ?? 0) : body.from === "earliest" ? 0 : log.length;
      for (const m of log.slice(start)) if ((state === undefined || !state.acked.has(keyOf(m))) && passes(body.filter, m)) sub.queue.push(m);
    }
    conn.subs.set(id, sub);
    this.subs.set(id, sub);
    return { subscriptionId: id, durable: body.name !== undefined, resumed, maxInFlight };
  }

  #pumpAll(): void {
    for (const sub of this.subs.values()) {
      const batch: Delivery[] = [];
      while (sub.credit > 0 && sub.queue.length > 0) {
        const m = sub.queue.shift();
        if (m === undefined) break;
        const state = sub.name !== undefined ? this.durables.get(sub.name) : undefined;
        if (state?.acked.has(keyOf(m)) === true) continue;
        sub.credit--;
        batch.push({ ...m, attempt: 1 });
      }
      if (batch.length > 0) sub.conn.send({ t: "deliver", subscriptionId: sub.id, messages: batch });
    }
  }
}

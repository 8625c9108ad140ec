/** Administration: topics, subscriptions, dead letters, maintenance, statistics, cluster (SPEC §3, §5, §6). */
import type {
  ClusterStatusResponse, DeadLetter, MaintenanceKind, MaintenanceResponse, MembershipResponse, RetentionPolicy,
  StatsResponse, SubscriptionInfo, TopicDeleteResponse, TopicInfo, TopicSummary, TransferLeaderResponse,
  SysForwardRequest, SysSetRequest, SysStatusResponse,
} from "./protocol/index.ts";
import type { Session } from "./session.ts";

/** Deadline of one admin call, in ms (default: the client's timeoutMs). */
export interface AdminOptions {
  readonly timeoutMs?: number;
}

function opts(options: AdminOptions, idempotent: boolean): { idempotent: boolean; timeoutMs?: number } {
  return { idempotent, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) };
}

/** `client.topics`: topic administration. */
export class TopicsApi {
  readonly #session: Session;
  /** Used by the client. */
  constructor(session: Session) {
    this.#session = session;
  }

  /** Create a topic. @throws RaftbusError TOPIC_EXISTS, INVALID_TOPIC. */
  create(topic: string, options: AdminOptions & { readonly retention?: RetentionPolicy } = {}): Promise<TopicSummary> {
    const body = { topic, ...(options.retention !== undefined ? { retention: options.retention } : {}) };
    return this.#session.request("topic.create", body, opts(options, false));
  }

  /** List topics, optionally those whose name starts with `prefix`. */
  async list(options: AdminOptions & { readonly prefix?: string } = {}): Promise<readonly TopicSummary[]> {
    const body = options.prefix !== undefined ? { prefix: options.prefix } : {};
    return (await this.#session.request("topic.list", body, opts(options, true))).topics;
  }

  /** Counts, bytes, offsets, rate, subscriptions and lag of a topic. @throws RaftbusError TOPIC_NOT_FOUND. */
  info(topic: string, options: AdminOptions = {}): Promise<TopicInfo> {
    return this.#session.request("topic.info", { topic }, opts(options, true));
  }

  /** Delete a topic and its messages. @throws RaftbusError TOPIC_NOT_FOUND. */
  delete(topic: string, options: AdminOptions = {}): Promise<TopicDeleteResponse> {
    return this.#session.request("topic.delete", { topic }, opts(options, false));
  }
}

/** `client.subscriptions`: subscription listing. */
export class SubscriptionsApi {
  readonly #session: Session;
  /** Used by the client. */
  constructor(session: Session) {
    this.#session = session;
  }

  /** All subscriptions, or those whose pattern matches `topic`. */
  async list(options: AdminOptions & { readonly topic?: string } = {}): Promise<readonly SubscriptionInfo[]> {
    const body = options.topic !== undefined ? { topic: options.topic } : {};
    return (await this.#session.request("subscription.list", body, opts(options, true))).subscriptions;
  }
}

/** `client.dlq`: dead-letter queues, one per topic. */
export class DlqApi {
  readonly #session: Session;
  /** Used by the client. */
  constructor(session: Session) {
    this.#session = session;
  }

  /** A topic's dead letters, oldest first. */
  async list(topic: string, options: AdminOptions & { readonly limit?: number; readonly fromId?: number } = {}): Promise<readonly DeadLetter[]> {
    const body = {
      topic,
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
      ...(options.fromId !== undefined ? { fromId: options.fromId } : {}),
    };
    return (await this.#session.request("dlq.list", body, opts(options, true))).messages;
  }

  /** Republish dead letters (all of the topic's, or `ids`) to their topic; returns how many. */
  async replay(topic: string, options: AdminOptions & { readonly ids?: readonly number[] } = {}): Promise<number> {
    const body = { topic, ...(options.ids !== undefined ? { ids: options.ids } : {}) };
    return (await this.#session.request("dlq.replay", body, opts(options, false))).replayed;
  }

  /** Delete dead letters (all of the topic's, or `ids`); returns how many. */
  async purge(topic: string, options: AdminOptions & { readonly ids?: readonly number[] } = {}): Promise<number> {
    const body = { topic, ...(options.ids !== undefined ? { ids: options.ids } : {}) };
    return (await this.#session.request("dlq.purge", body, opts(options, true))).purged;
  }
}

/** `client.maintenance`: on-demand maintenance jobs. */
export class MaintenanceApi {
  readonly #session: Session;
  /** Used by the client. */
  constructor(session: Session) {
    this.#session = session;
  }

  /** Run `cleanup` (expired messages), `compact` (store and Raft log) or `retry-failed` now. */
  run(kind: MaintenanceKind, options: AdminOptions = {}): Promise<MaintenanceResponse> {
    return this.#session.request("maintenance", { kind }, opts(options, true));
  }
}

/** `client.cluster`: status, membership, leadership. */
export class ClusterApi {
  readonly #session: Session;
  /** Used by the client. */
  constructor(session: Session) {
    this.#session = session;
  }

  /** Members, roles, terms, indexes and health as seen by the leader. */
  status(options: AdminOptions = {}): Promise<ClusterStatusResponse> {
    return this.#session.request("cluster.status", {}, opts(options, true));
  }

  /** Add a node through a Raft membership change (`voter: false` adds a learner). */
  addNode(node: { readonly id: string; readonly peerAddress: string; readonly clientAddress: string; readonly voter?: boolean }, options: AdminOptions = {}): Promise<MembershipResponse> {
    return this.#session.request("cluster.add-node", node, opts(options, false));
  }

  /** Remove a node through a Raft membership change. */
  removeNode(id: string, options: AdminOptions = {}): Promise<MembershipResponse> {
    return this.#session.request("cluster.remove-node", { id }, opts(options, false));
  }

  /** Hand leadership to `to` (or the most caught-up voter). The client follows the new leader by itself. */
  transferLeader(to?: string, options: AdminOptions = {}): Promise<TransferLeaderResponse> {
    return this.#session.request("cluster.transfer-leader", to !== undefined ? { to } : {}, opts(options, false));
  }
}

/** `client.stats()`. */
export function stats(session: Session, options: AdminOptions = {}): Promise<StatsResponse> {
  return session.request("stats", {}, opts(options, true));
}

/** `client.sys`: system events (docs/system-events.md). */
export class SysApi {
  readonly #session: Session;
  /** Used by the client. */
  constructor(session: Session) {
    this.#session = session;
  }

  /** Settings of every family and how this cluster signs. */
  status(options: AdminOptions = {}): Promise<SysStatusResponse> {
    return this.#session.request("sys.status", {}, opts(options, true));
  }

  /**
   * Change settings, replicated to every node: `{ health: { intervalMs: 10000 } }`,
   * `{ metrics: { enabled: false } }`. `reset` drops every earlier runtime change first.
   * @throws RaftbusError INVALID_ARGUMENT naming the bad family or field.
   */
  set(settings: SysSetRequest["settings"], options: AdminOptions & { readonly reset?: boolean } = {}): Promise<SysStatusResponse> {
    return this.#session.request("sys.set", { settings, ...(options.reset === true ? { reset: true } : {}) }, opts(options, true));
  }

  /** Ask `node` (default every node, `*`) to publish a report on `$sys.diagnostics`; resolves with its request id. */
  async diagnose(node = "*", options: AdminOptions = {}): Promise<string> {
    return (await this.#session.request("sys.diagnose", { node }, opts(options, false))).requestId;
  }

  /** Node to node: hand a follower's system events to the leader (needs the cluster secret's MAC). */
  async forward(request: SysForwardRequest, options: AdminOptions = {}): Promise<number> {
    return (await this.#session.request("sys.forward", request, opts(options, true))).accepted;
  }
}

/** Administration: topics, subscriptions, dead letters, maintenance, statistics, cluster (SPEC §3, §5, §6). */
import type {
  ClusterStatusResponse, Consistency, DeadLetter, FinalizeUpgradeResponse, MaintenanceKind, MaintenanceResponse, MembershipResponse, RetentionPolicy,
  DlqListResponse, StatsResponse, SubscriptionInfo, SubscriptionListResponse, TopicDeleteResponse, TopicInfo, TopicListResponse,
  TopicSummary, TransferLeaderResponse, SysForwardRequest, SysSetRequest, SysStatusResponse,
  UserListResponse, UserNameResponse, UserTokenResponse, KeyAddResponse, KeyInfo,
} from "./protocol/index.ts";
import type { Session } from "./session.ts";

/** Deadline of one admin call, in ms (default: the client's timeoutMs). */
export interface AdminOptions {
  readonly timeoutMs?: number;
}

/**
 * Options of a read (topic.list, topic.info, subscription.list, dlq.list,
 * stats). `consistency: "linearizable"` (the default) is answered by the
 * leader and reflects every write acknowledged before the call;
 * `consistency: "stale"` is answered at once by the node the client is
 * connected to, from its applied state, which may lag the leader. The
 * answer's `readAt` names the node and its applied index.
 */
export interface ReadOptions extends AdminOptions {
  readonly consistency?: Consistency;
}

function readBody(options: ReadOptions): { consistency?: Consistency } {
  return options.consistency !== undefined ? { consistency: options.consistency } : {};
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

  /** List topics, optionally those whose name starts with `prefix`, fetching page after page (the server sends at most its listPageMax per request). */
  async list(options: ReadOptions & { readonly prefix?: string } = {}): Promise<readonly TopicSummary[]> {
    return (await this.listWithReadAt(options)).topics;
  }

  /**
   * {@link list}, with `readAt` (which node read, at which applied index).
   * Each page is its own read: `readAt` is the last page's, the latest.
   */
  async listWithReadAt(options: ReadOptions & { readonly prefix?: string } = {}): Promise<TopicListResponse> {
    const topics: TopicSummary[] = [];
    let after: string | undefined;
    let page: TopicListResponse;
    do {
      const body = { ...(options.prefix !== undefined ? { prefix: options.prefix } : {}), ...(after !== undefined ? { after } : {}), ...readBody(options) };
      page = await this.#session.request("topic.list", body, opts(options, true));
      topics.push(...page.topics);
      after = page.next;
    } while (after !== undefined);
    return { topics, readAt: page.readAt };
  }

  /** Counts, bytes, offsets, rate, subscriptions and lag of a topic. @throws RaftbusError TOPIC_NOT_FOUND. */
  info(topic: string, options: ReadOptions = {}): Promise<TopicInfo> {
    return this.#session.request("topic.info", { topic, ...readBody(options) }, opts(options, true));
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

  /** All subscriptions, or those whose pattern matches `topic`, fetching page after page (see topics.list). */
  async list(options: ReadOptions & { readonly topic?: string } = {}): Promise<readonly SubscriptionInfo[]> {
    return (await this.listWithReadAt(options)).subscriptions;
  }

  /** {@link list}, with the last page's `readAt` (see topics.listWithReadAt). */
  async listWithReadAt(options: ReadOptions & { readonly topic?: string } = {}): Promise<SubscriptionListResponse> {
    const subscriptions: SubscriptionInfo[] = [];
    let after: string | undefined;
    let page: SubscriptionListResponse;
    do {
      const body = { ...(options.topic !== undefined ? { topic: options.topic } : {}), ...(after !== undefined ? { after } : {}), ...readBody(options) };
      page = await this.#session.request("subscription.list", body, opts(options, true));
      subscriptions.push(...page.subscriptions);
      after = page.next;
    } while (after !== undefined);
    return { subscriptions, readAt: page.readAt };
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
  async list(topic: string, options: ReadOptions & { readonly limit?: number; readonly fromId?: number } = {}): Promise<readonly DeadLetter[]> {
    return (await this.listWithReadAt(topic, options)).messages;
  }

  /** {@link list}, with the answer's `readAt` (which node read, at which applied index). */
  listWithReadAt(topic: string, options: ReadOptions & { readonly limit?: number; readonly fromId?: number } = {}): Promise<DlqListResponse> {
    const body = {
      topic,
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
      ...(options.fromId !== undefined ? { fromId: options.fromId } : {}),
      ...readBody(options),
    };
    return this.#session.request("dlq.list", body, opts(options, true));
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

  /**
   * Raise the cluster version to `version` (default: the highest the
   * leader's build implements), enabling what the newer release writes to
   * the log and to disk. Run it after every node runs the new release.
   * @throws RaftbusError VERSION_MISMATCH when a member's build does not
   *   implement it or did not answer.
   */
  finalizeUpgrade(version?: number, options: AdminOptions = {}): Promise<FinalizeUpgradeResponse> {
    return this.#session.request("cluster.finalize-upgrade", version !== undefined ? { version } : {}, opts(options, true));
  }

  /** Hand leadership to `to` (or the most caught-up voter). The client follows the new leader by itself. */
  transferLeader(to?: string, options: AdminOptions = {}): Promise<TransferLeaderResponse> {
    return this.#session.request("cluster.transfer-leader", to !== undefined ? { to } : {}, opts(options, false));
  }
}

/** `client.stats()`. */
export function stats(session: Session, options: ReadOptions = {}): Promise<StatsResponse> {
  return session.request("stats", readBody(options), opts(options, true));
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

/**
 * `client.users`: users and their grants (needs the `admin:users` scope).
 * Tokens are drawn by the server and answered once: the cluster keeps only
 * their SHA-256, so a lost token is replaced with {@link UsersApi.rotate}.
 */
export class UsersApi {
  readonly #session: Session;
  /** Used by the client. */
  constructor(session: Session) {
    this.#session = session;
  }

  /**
   * Create a user with grants such as `["pub:orders.**", "sub:orders.**"]`
   * (README "Security"). @throws RaftbusError USER_EXISTS, INVALID_ARGUMENT, FEATURE_NOT_ENABLED.
   */
  add(name: string, grants: readonly string[], options: AdminOptions = {}): Promise<UserTokenResponse> {
    return this.#session.request("user.add", { name, grants: [...grants] }, opts(options, false));
  }

  /** A new token for `name`; the old one stops working at once. @throws RaftbusError USER_NOT_FOUND. */
  rotate(name: string, options: AdminOptions = {}): Promise<UserTokenResponse> {
    return this.#session.request("user.rotate", { name }, opts(options, false));
  }

  /** Replace `name`'s grants (its token stays). @throws RaftbusError USER_NOT_FOUND, INVALID_ARGUMENT. */
  grant(name: string, grants: readonly string[], options: AdminOptions = {}): Promise<UserNameResponse> {
    return this.#session.request("user.grant", { name, grants: [...grants] }, opts(options, true));
  }

  /** Delete `name`: its token stops working and its connections are closed. @throws RaftbusError USER_NOT_FOUND. */
  remove(name: string, options: AdminOptions = {}): Promise<UserNameResponse> {
    return this.#session.request("user.remove", { name }, opts(options, false));
  }

  /** Every user with its grants (never a token). */
  list(options: AdminOptions = {}): Promise<UserListResponse> {
    return this.#session.request("user.list", {}, opts(options, true));
  }
}

/** `client.keys`: topic signing keys (signed topics). */
export class KeysApi {
  readonly #session: Session;
  /** Used by the client. */
  constructor(session: Session) {
    this.#session = session;
  }

  /**
   * Register a signing key guarding the topics `pattern` matches (exact or
   * wildcard): from then on publishes there must be signed with it. The
   * answer's `key` (`rbtk1.…`) is the only copy handed out: keep it.
   * @throws RaftbusError KEY_EXISTS, INVALID_PATTERN, FEATURE_NOT_ENABLED (cluster version below 5).
   */
  add(name: string, pattern: string, options: AdminOptions & { readonly key?: Uint8Array } = {}): Promise<KeyAddResponse> {
    return this.#session.request("key.add", { name, pattern, ...(options.key !== undefined ? { key: options.key } : {}) }, opts(options, false));
  }

  /** Every signing key (name, pattern, fingerprint; never the secret). */
  async list(options: AdminOptions = {}): Promise<KeyInfo[]> {
    return [...(await this.#session.request("key.list", {}, opts(options, true))).keys];
  }

  /** Forget a signing key; its topics take unsigned messages again unless another key guards them. @throws RaftbusError KEY_NOT_FOUND */
  async remove(name: string, options: AdminOptions = {}): Promise<void> {
    await this.#session.request("key.remove", { name }, opts(options, false));
  }
}

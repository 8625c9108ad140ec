/**
 * Which permission each request kind needs (issue 13 part 2), and the check
 * itself. The table is typed over every request kind, so a new kind does
 * not compile until someone decides who may send it.
 *
 * - `member`: any authenticated user: reads of cluster state and the
 *   feedback on the user's own subscriptions (credit, ack, fail, detach);
 * - `publish` / `subscribe`: the topic grants (auth/grants.ts);
 * - `scope`: an admin scope;
 * - `node`: member nodes only (event forwarding).
 * A node's own token allows `node` kinds, `cluster.status`, `sys.status`,
 * `ping`, and `cluster.add-node` of itself (its join).
 */
import type { AnyRequestFrame, RequestKind } from "@raftbus/client/protocol";
import { canPublish, canSubscribe, compileGrants, hasScope } from "../../auth/grants.ts";
import type { AdminScope, Permissions } from "../../auth/grants.ts";
import { compilePattern } from "../../pattern/pattern.ts";
import type { UserRecord } from "../../store/records.ts";
import type { Principal } from "./authenticator.ts";

/** What a request kind needs. */
type Rule = "member" | "publish" | "subscribe" | "node" | { readonly scope: AdminScope };

const RULES: Readonly<Record<RequestKind, Rule>> = {
  publish: "publish",
  subscribe: "subscribe",
  unsubscribe: "member", credit: "member", ack: "member", fail: "member",
  ping: "member", stats: "member", "cluster.status": "member", "sys.status": "member",
  "topic.list": "member", "topic.info": "member",
  "topic.create": { scope: "topics" }, "topic.delete": { scope: "topics" },
  "subscription.list": { scope: "subscriptions" },
  "dlq.list": { scope: "dlq" }, "dlq.replay": { scope: "dlq" }, "dlq.purge": { scope: "dlq" },
  maintenance: { scope: "maintenance" },
  "cluster.add-node": { scope: "membership" }, "cluster.remove-node": { scope: "membership" },
  "cluster.transfer-leader": { scope: "membership" }, "cluster.finalize-upgrade": { scope: "membership" },
  "user.add": { scope: "users" }, "user.rotate": { scope: "users" }, "user.grant": { scope: "users" },
  "user.remove": { scope: "users" }, "user.list": { scope: "users" },
  "sys.set": { scope: "sys" }, "sys.diagnose": { scope: "sys" },
  "sys.forward": "node",
  // A backup is every message of every topic.
  "backup.open": { scope: "backup" }, "backup.read": { scope: "backup" }, "backup.close": { scope: "backup" },
  // Signing keys decide which publishes the cluster takes; listing them shows which topics are guarded.
  "key.add": { scope: "keys" }, "key.list": { scope: "keys" }, "key.remove": { scope: "keys" },
};

/** What a node's own token may send besides `node` kinds. */
const NODE_KINDS: ReadonlySet<RequestKind> = new Set<RequestKind>(["ping", "cluster.status", "sys.status", "sys.forward"]);

/** A refusal: the permission that was missing, in grant syntax where there is one. */
export interface Denial {
  readonly permission: string;
  readonly message: string;
  /** The topic or pattern refused, when the request named one. */
  readonly target?: string;
}

/** Compiled grants per user record (a record is replaced, never changed, when grants change). */
const compiled = new WeakMap<UserRecord, Permissions>();

function permissionsOf(record: UserRecord): Permissions {
  let p = compiled.get(record);
  if (p === undefined) {
    p = compileGrants(record.grants);
    compiled.set(record, p);
  }
  return p;
}

/**
 * Undefined when `principal` may send `req`, else why not. `record` is the
 * current record of a user principal; `inbox` the session's reply inbox.
 * @throws RaftbusError INVALID_PATTERN for a subscribe pattern that does not compile.
 */
export function authorize(principal: Principal, record: UserRecord | undefined, req: AnyRequestFrame, inbox: string | undefined): Denial | undefined {
  if (principal.kind === "open" || principal.kind === "admin") return undefined;
  if (principal.kind === "node") return authorizeNode(principal.node, req);
  const rule = RULES[req.kind];
  if (rule === "member") return undefined;
  if (rule === "node") return { permission: "node", message: `${req.kind} is for member nodes only` };
  if (record === undefined) return { permission: "user", message: "the user was removed or its token rotated" };
  const perms = permissionsOf(record);
  if (rule === "publish" && req.kind === "publish") {
    for (const m of req.body.messages) {
      if (!canPublish(perms, m.topic)) return { permission: `pub:${m.topic}`, target: m.topic, message: `user '${record.name}' may not publish to '${m.topic}' (no pub grant matches it)` };
    }
    return undefined;
  }
  if (rule === "subscribe" && req.kind === "subscribe") {
    const pattern = req.body.pattern;
    if (canSubscribe(perms, compilePattern(pattern), inbox)) return undefined;
    return { permission: `sub:${pattern}`, target: pattern, message: `user '${record.name}' may not subscribe to '${pattern}' (no sub grant covers it${pattern.startsWith("_reply.") ? "; a session may read only its own reply inbox" : ""})` };
  }
  if (typeof rule === "object" && !hasScope(perms, rule.scope)) {
    return { permission: `admin:${rule.scope}`, message: `user '${record.name}' may not ${req.kind} (needs admin:${rule.scope})` };
  }
  return undefined;
}

function authorizeNode(node: string, req: AnyRequestFrame): Denial | undefined {
  if (NODE_KINDS.has(req.kind)) return undefined;
  // A node adds only itself (node start --join).
  if (req.kind === "cluster.add-node" && req.body.id === node) return undefined;
  return { permission: req.kind, message: `node credential of ${node} may not ${req.kind}` };
}

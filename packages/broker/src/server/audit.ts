/**
 * Which client requests are administrative changes worth an audit event
 * (`$sys.audit`), and the one rule clients meet at the door: `$sys.` topics
 * are the cluster's own: clients subscribe to them but never publish to,
 * create or delete them (FORBIDDEN).
 */
import type { AnyRequestFrame } from "@raftbus/client/protocol";
import { isSystemTopic } from "../topic/topic-name.ts";

/** What to report about a successful request. */
export interface AuditFacts {
  readonly audit: boolean;
  readonly action: string;
  readonly target: string;
  readonly details?: Record<string, unknown>;
  /** A subscription was created (lifecycle). */
  readonly subscription?: { readonly name: string; readonly pattern: string; readonly ephemeral: boolean };
}

/** The audit facts of `req` answered with `res`, or undefined for requests that change nothing administrative. */
export function auditOf(req: AnyRequestFrame, res: unknown): AuditFacts | undefined {
  const body = req.body as Record<string, unknown>;
  const s = (k: string): string => (typeof body[k] === "string" ? (body[k] as string) : "");
  switch (req.kind) {
    case "topic.create":
    case "topic.delete":
      return { audit: true, action: req.kind === "topic.create" ? "topic.created" : "topic.deleted", target: s("topic") };
    case "subscribe": {
      const r = res as { resumed?: boolean; durable?: boolean; subscriptionId?: string };
      if (r.resumed === true) return undefined;
      const durable = body["name"] !== undefined;
      return {
        audit: durable, action: "subscription.created", target: durable ? s("name") : r.subscriptionId ?? "", details: { pattern: s("pattern") },
        subscription: { name: durable ? s("name") : r.subscriptionId ?? "", pattern: s("pattern"), ephemeral: !durable },
      };
    }
    case "unsubscribe":
      return body["delete"] === true ? { audit: true, action: "subscription.deleted", target: s("subscriptionId") } : undefined;
    case "dlq.replay":
    case "dlq.purge":
      return { audit: true, action: req.kind, target: s("topic"), details: { result: res } };
    case "maintenance":
      return { audit: true, action: "maintenance", target: s("kind"), details: { result: res } };
    case "cluster.add-node":
      return { audit: true, action: "membership.add-node", target: s("id"), details: { peerAddress: s("peerAddress"), voter: body["voter"] !== false } };
    case "cluster.remove-node":
      return { audit: true, action: "membership.remove-node", target: s("id") };
    case "user.add":
    case "user.grant":
      // Never the token: only who and what they may do.
      return { audit: true, action: req.kind === "user.add" ? "user.added" : "user.granted", target: s("name"), details: { grants: body["grants"] } };
    case "user.rotate":
    case "user.remove":
      return { audit: true, action: req.kind === "user.rotate" ? "user.rotated" : "user.removed", target: s("name") };
    case "cluster.transfer-leader":
      return { audit: true, action: "leadership.transfer", target: (res as { to?: string }).to ?? s("to") };
    default:
      return undefined;
  }
}

/** Why `req` may not touch a `$sys.` topic, or undefined when it does not. */
export function systemTopicRefusal(req: AnyRequestFrame): { readonly topic: string; readonly message: string } | undefined {
  const refuse = (topic: string, what: string) => ({
    topic, message: `topic '${topic}' is reserved for the cluster's own events: clients may subscribe to $sys. topics but never ${what} them`,
  });
  if (req.kind === "publish") {
    for (const m of req.body.messages) if (isSystemTopic(m.topic) || m.topic === "$sys") return refuse(m.topic, "publish to");
  } else if (req.kind === "topic.create" || req.kind === "topic.delete") {
    const t = req.body.topic;
    if (isSystemTopic(t) || t === "$sys") return refuse(t, req.kind === "topic.create" ? "create" : "delete");
  }
  return undefined;
}

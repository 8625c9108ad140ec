/**
 * What a user may do (issue 13 part 2), written as a list of grants:
 *
 *   admin                 everything: every grant below, every admin scope
 *   monitor               read the cluster's own events (`sub:$sys.**`): the dashboard
 *   pub:PATTERN           publish to topics the pattern matches
 *   sub:PATTERN           subscribe with patterns inside PATTERN
 *   pubsub:PATTERN        both
 *   admin:SCOPE           an admin scope: topics, subscriptions, dlq,
 *                         maintenance, membership, users, sys, backup, keys
 *                         (a backup holds every message), or * (all)
 *
 * PATTERN is a subscription pattern of pattern.ts without regexes
 * (`orders.**`, `sensors.*.temp`, `billing`), so grants are checked on their
 * segments, safely (coverage.ts: "covered" only when every topic is). As everywhere, a wildcard first segment
 * does not reach `$sys.`: reading system events needs `sub:$sys.**` (or a
 * narrower `$sys.` grant). Reply inboxes (`_reply.…`) are likewise apart: a
 * session may always read its own inbox, and other inboxes only with a
 * grant that names `_reply` literally (the admin role has `sub:_reply.**`).
 * Publishing to an inbox needs no grant: that is how responders answer.
 * Nobody but the cluster publishes to `$sys.` (audit.ts).
 */
import { RaftbusError } from "@raftbus/client/protocol";
import { compilePattern, patternSegments } from "../pattern/pattern.ts";
import type { CompiledPattern } from "../pattern/pattern.ts";
import { SYSTEM_TOPIC_SEGMENT } from "../topic/topic-name.ts";
import { covers } from "./coverage.ts";

/** The admin scopes, each a family of administrative requests. */
export const ADMIN_SCOPES = ["topics", "subscriptions", "dlq", "maintenance", "membership", "users", "sys", "backup", "keys"] as const;

/** An admin scope. */
export type AdminScope = (typeof ADMIN_SCOPES)[number];

/** The first segment of reply inboxes (client/src/request-reply.ts). */
export const REPLY_SEGMENT = "_reply";

/** Most grants one user holds. */
export const GRANTS_MAX = 64;
/** Longest grant, in characters (a pattern plus its prefix). */
export const GRANT_CHARS_MAX = 300;

/** The grants of the admin role. */
export const ADMIN_GRANTS: readonly string[] = ["pub:**", "sub:**", `sub:${SYSTEM_TOPIC_SEGMENT}.**`, `sub:${REPLY_SEGMENT}.**`, "admin:*"];

/** The grants of the monitor role: what the dashboard reads. */
export const MONITOR_GRANTS: readonly string[] = [`sub:${SYSTEM_TOPIC_SEGMENT}.**`];

/** One topic grant, compiled. */
interface TopicGrant {
  readonly source: string;
  readonly pattern: CompiledPattern;
  readonly segments: readonly string[];
}

/** A user's grants, compiled for checking. */
export interface Permissions {
  readonly grants: readonly string[];
  readonly publish: readonly TopicGrant[];
  readonly subscribe: readonly TopicGrant[];
  readonly scopes: ReadonlySet<AdminScope>;
}

/**
 * Validates grants and returns them in canonical form (trimmed, duplicates
 * dropped, order kept), so equal grants are equal bytes in the log.
 * @throws RaftbusError INVALID_ARGUMENT naming the bad grant.
 */
export function normalizeGrants(grants: readonly unknown[]): string[] {
  if (grants.length > GRANTS_MAX) throw invalid(`${grants.length} grants; a user holds at most ${GRANTS_MAX}`);
  const out: string[] = [];
  for (const g of grants) {
    if (typeof g !== "string") throw invalid("a grant must be a string");
    const grant = g.trim();
    if (grant.length === 0 || grant.length > GRANT_CHARS_MAX) throw invalid(`grant '${grant.slice(0, 40)}' must be 1–${GRANT_CHARS_MAX} characters`);
    compileGrant(grant, { publish: [], subscribe: [], scopes: new Set() });
    if (!out.includes(grant)) out.push(grant);
  }
  return out;
}

/** Splits `pub:a.**,sub:b.*` (the CLI's --grant syntax) into grants. */
export function splitGrants(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Compiles validated grants (see normalizeGrants). */
export function compileGrants(grants: readonly string[]): Permissions {
  const acc = { publish: [] as TopicGrant[], subscribe: [] as TopicGrant[], scopes: new Set<AdminScope>() };
  for (const g of grants) compileGrant(g, acc);
  return { grants, ...acc };
}

function compileGrant(grant: string, acc: { publish: TopicGrant[]; subscribe: TopicGrant[]; scopes: Set<AdminScope> }): void {
  if (grant === "admin" || grant === "monitor") {
    for (const g of grant === "admin" ? ADMIN_GRANTS : MONITOR_GRANTS) compileGrant(g, acc);
    return;
  }
  const colon = grant.indexOf(":");
  const kind = colon < 0 ? grant : grant.slice(0, colon);
  const arg = colon < 0 ? "" : grant.slice(colon + 1);
  switch (kind) {
    case "pub":
      acc.publish.push(topicGrant(grant, arg));
      return;
    case "sub":
      acc.subscribe.push(topicGrant(grant, arg));
      return;
    case "pubsub":
      acc.publish.push(topicGrant(grant, arg));
      acc.subscribe.push(topicGrant(grant, arg));
      return;
    case "admin":
      if (arg === "*") for (const s of ADMIN_SCOPES) acc.scopes.add(s);
      else if ((ADMIN_SCOPES as readonly string[]).includes(arg)) acc.scopes.add(arg as AdminScope);
      else throw invalid(`grant '${grant}': the admin scopes are ${ADMIN_SCOPES.join(", ")} and *`);
      return;
    default:
      throw invalid(`grant '${grant}' is not one of admin, monitor, pub:PATTERN, sub:PATTERN, pubsub:PATTERN, admin:SCOPE`);
  }
}

function topicGrant(grant: string, source: string): TopicGrant {
  if (source.startsWith("/") || source.startsWith("re:")) throw invalid(`grant '${grant}': grants take wildcard patterns (orders.**, a.*.b), not regexes`);
  let pattern: CompiledPattern;
  try {
    pattern = compilePattern(source);
  } catch (err) {
    throw invalid(`grant '${grant}': ${err instanceof Error ? err.message : String(err)}`);
  }
  return { source, pattern, segments: patternSegments(pattern) ?? [source] };
}

/** True when `perms` let their holder publish to `topic` (a valid, non-`$sys` topic). */
export function canPublish(perms: Permissions, topic: string): boolean {
  if (topic.startsWith(`${REPLY_SEGMENT}.`)) return true;
  return perms.publish.some((g) => g.pattern.matches(topic));
}

/**
 * True when `perms` let their holder subscribe with `pattern`. `ownInbox`
 * is the session's reply inbox, always readable by it.
 */
export function canSubscribe(perms: Permissions, pattern: CompiledPattern, ownInbox: string | undefined): boolean {
  const segments = patternSegments(pattern);
  const coveredBy = (list: readonly TopicGrant[], s: readonly string[]) => list.some((g) => covers(g.segments, s));
  const inboxGrants = perms.subscribe.filter((g) => g.segments[0] === REPLY_SEGMENT);
  const everyInbox = coveredBy(inboxGrants, [REPLY_SEGMENT, "**"]);
  if (segments === undefined) {
    // A regex sees every topic, `$sys.` and every inbox included.
    return everyInbox && coveredBy(perms.subscribe, ["**"]) && coveredBy(perms.subscribe, [SYSTEM_TOPIC_SEGMENT, "**"]);
  }
  const first = segments[0];
  if (first === REPLY_SEGMENT) return pattern.source === ownInbox || coveredBy(inboxGrants, segments);
  if (first === "*" || first === "**") return everyInbox && coveredBy(perms.subscribe, segments);
  return coveredBy(perms.subscribe, segments);
}

/** True when `perms` hold admin scope `scope`. */
export function hasScope(perms: Permissions, scope: AdminScope): boolean {
  return perms.scopes.has(scope);
}

function invalid(message: string): RaftbusError {
  return new RaftbusError("INVALID_ARGUMENT", message);
}

/**
 * The node's door (issue 13 parts 1–3), in one place: who a hello's token
 * is (authenticator.ts) and which reply inbox the session gets, whether a
 * request is allowed (access.ts), which browser origins may open a
 * WebSocket (origin.ts) — and the `$sys.security` event and log line of
 * every refusal. The node server asks; this class decides and reports.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { RaftbusError } from "@raftbus/client/protocol";
import type { AnyRequestFrame, ErrorInfo, HelloFrame } from "@raftbus/client/protocol";
import type { Logger } from "@raftbus/raft";
import { REPLY_SEGMENT } from "../../auth/grants.ts";
import type { UserRecord } from "../../store/records.ts";
import type { SystemEvents } from "../../sys/system-events.ts";
import type { NodeConfig } from "../config.ts";
import { actorOf } from "../handlers/actor.ts";
import type { Admission, ClientSession } from "../session.ts";
import { authorize } from "./access.ts";
import type { Denial } from "./access.ts";
import { Authenticator } from "./authenticator.ts";
import { OriginPolicy } from "./origin.ts";
import type { Endpoint } from "./origin.ts";

/** Client ids that can name a reply inbox (one topic segment). */
const INBOX_SEGMENT_RE = /^[A-Za-z0-9_-]{1,128}$/;

/** Longest origin quoted in events and logs. */
const ORIGIN_QUOTE_CHARS = 200;

/** What access control needs from the node. */
export interface AccessControlParts {
  readonly config: Pick<NodeConfig, "auth" | "clusterId" | "clusterSecret" | "clusterSecretPrevious" | "allowedOrigins">;
  /** SHA-256 of the configured admin's token (undefined with auth open). */
  readonly adminTokenHash: Uint8Array | undefined;
  /** The replicated user `name`, as applied on this node. */
  readonly user: (name: string) => UserRecord | undefined;
  /** The cluster's members' client endpoints, as the node knows them now. */
  readonly members: () => Iterable<Endpoint>;
  readonly sys: SystemEvents;
  readonly log: Logger;
}

/** See the module comment. */
export class AccessControl {
  private readonly auth: Authenticator;
  private readonly origins: OriginPolicy;

  constructor(private readonly p: AccessControlParts) {
    const c = p.config;
    this.auth = new Authenticator({
      mode: c.auth, adminTokenHash: p.adminTokenHash, user: p.user,
      clusterId: c.clusterId, clusterSecret: c.clusterSecret, clusterSecretPrevious: c.clusterSecretPrevious,
    });
    this.origins = new OriginPolicy(c.allowedOrigins, p.members);
  }

  /** A hello: the principal and reply inbox, or UNAUTHORIZED (an `auth.failed` event). */
  admit(hello: HelloFrame, session: ClientSession): Admission | ErrorInfo {
    const who = this.auth.authenticate(hello.token);
    if ("code" in who) {
      const client = hello.name ?? hello.clientId;
      this.p.sys.security("auth.failed", who.message, { client, session: session.id }, { address: session.address, tokenGiven: hello.token !== undefined && hello.token !== "" });
      this.p.log.info({ session: session.id, address: session.address, client }, "client refused: unauthorized");
      return who;
    }
    const user = who.kind === "admin" || who.kind === "user" ? who.user : undefined;
    const inbox = !INBOX_SEGMENT_RE.test(hello.clientId) || who.kind === "node" ? undefined
      : user === undefined ? `${REPLY_SEGMENT}.${hello.clientId}` : `${REPLY_SEGMENT}.${user}.${hello.clientId}`;
    return { principal: who, inbox };
  }

  /** @throws RaftbusError FORBIDDEN naming the permission (an `access.denied` event) when `session` may not send `req`. */
  check(session: ClientSession, req: AnyRequestFrame): void {
    const denial = this.denial(session, req);
    if (denial === undefined) return;
    this.p.sys.security("access.denied", denial.message, actorOf(session), { kind: req.kind, permission: denial.permission, ...(denial.target !== undefined ? { target: denial.target } : {}) });
    throw new RaftbusError("FORBIDDEN", denial.message, { details: { permission: denial.permission, ...(denial.target !== undefined ? { target: denial.target } : {}) } });
  }

  /** Why `session` could not subscribe to `pattern` now (its user's grants changed), or undefined. */
  subscribeDenial(session: ClientSession, pattern: string): Denial | undefined {
    return this.denial(session, { t: "req", id: 1, kind: "subscribe", body: { pattern } });
  }

  /** False when a user session's user was removed or its token rotated. */
  stillValid(session: ClientSession): boolean {
    return session.principal.kind !== "user" || this.auth.currentUser(session.principal) !== undefined;
  }

  /** True when a WebSocket upgrade with this request's Origin may go ahead. */
  allowsOrigin(req: IncomingMessage): boolean {
    return this.origins.allows(req.headers.origin);
  }

  /** Answers a refused origin with HTTP 403 before the upgrade (an `origin.refused` event). */
  refuseOrigin(req: IncomingMessage, socket: Duplex): void {
    const origin = String(req.headers.origin).slice(0, ORIGIN_QUOTE_CHARS);
    const address = req.socket.remoteAddress ?? "";
    this.p.sys.security("origin.refused", `a WebSocket from origin ${origin} is not allowed (allowedOrigins)`, undefined, { origin, address });
    this.p.log.info({ origin, address }, "WebSocket refused: origin not allowed");
    const body = JSON.stringify({ error: { code: "FORBIDDEN", message: "this origin may not open a WebSocket to raftbus (allowedOrigins)" } });
    socket.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  }

  private denial(session: ClientSession, req: AnyRequestFrame): Denial | undefined {
    return authorize(session.principal, this.auth.currentUser(session.principal), req, session.inbox);
  }
}

/**
 * Who a hello's token says the client is (issue 13 part 1). In `token`
 * mode a client presents one of:
 * - the configured admin's token (admin-token.ts): every permission;
 * - a user's token (`rbu1.<user>.<secret>`, raftbus user add): that user's
 *   grants, read from the replicated state at every request, so a rotation,
 *   a change of grants or a removal takes effect at once;
 * - a node's token (node-credential.ts): the narrow rights a node needs.
 * Anything else, or nothing, is UNAUTHORIZED. In `open` mode (development,
 * loopback only) every client may do everything and tokens are ignored.
 */
import type { ErrorInfo } from "@raftbus/client/protocol";
import { NodeCredentials } from "../../auth/node-credential.ts";
import { hashToken, sameHash, tokenUser } from "../../auth/tokens.ts";
import type { UserRecord } from "../../store/records.ts";
import type { AuthMode } from "./auth-config.ts";
import { ADMIN_USER } from "./admin-token.ts";

/** An authenticated client. */
export type Principal =
  /** `auth: open`: no authentication, every permission. */
  | { readonly kind: "open" }
  /** The configured admin: every permission. */
  | { readonly kind: "admin"; readonly user: string }
  /** A replicated user, as of its token: the session ends when the user's token or existence changes. */
  | { readonly kind: "user"; readonly user: string; readonly tokenHash: Uint8Array }
  /** A member node speaking as a client (event forwarding, its own join). */
  | { readonly kind: "node"; readonly node: string };

/** What the authenticator needs. */
export interface AuthenticatorOptions {
  readonly mode: AuthMode;
  /** SHA-256 of the configured admin's token (undefined in open mode). */
  readonly adminTokenHash: Uint8Array | undefined;
  /** The replicated user `name`, as applied on this node. */
  readonly user: (name: string) => UserRecord | undefined;
  readonly clusterId: string;
  readonly clusterSecret: string;
  readonly clusterSecretPrevious: string;
}

/** See the module comment. */
export class Authenticator {
  private readonly nodes: NodeCredentials;

  constructor(private readonly o: AuthenticatorOptions) {
    this.nodes = new NodeCredentials(o.clusterId, o.clusterSecret, o.clusterSecretPrevious);
  }

  get mode(): AuthMode {
    return this.o.mode;
  }

  /** The principal a hello's token stands for, or the UNAUTHORIZED refusal. */
  authenticate(token: string | undefined): Principal | ErrorInfo {
    if (this.o.mode === "open") return { kind: "open" };
    if (token === undefined || token === "") {
      return { code: "UNAUTHORIZED", message: "this node requires a token: connect({ token }), raftbus --token, RAFTBUS_TOKEN or a credentials file" };
    }
    const hash = hashToken(token);
    if (this.o.adminTokenHash !== undefined && sameHash(hash, this.o.adminTokenHash)) return { kind: "admin", user: ADMIN_USER };
    const name = tokenUser(token);
    const record = name === undefined ? undefined : this.o.user(name);
    if (name !== undefined && record !== undefined && sameHash(hash, record.tokenHash)) return { kind: "user", user: name, tokenHash: record.tokenHash };
    const node = this.nodes.verify(token);
    if (node !== undefined) return { kind: "node", node };
    return { code: "UNAUTHORIZED", message: "the token is not valid (unknown, rotated or removed user)" };
  }

  /** The user record behind a user principal while its token still holds; undefined once rotated or removed. */
  currentUser(p: Principal): UserRecord | undefined {
    if (p.kind !== "user") return undefined;
    const record = this.o.user(p.user);
    return record !== undefined && sameHash(record.tokenHash, p.tokenHash) ? record : undefined;
  }
}

/** The name a principal acts under (audit, security events, per-user limits); undefined when open. */
export function principalName(p: Principal): string | undefined {
  switch (p.kind) {
    case "open": return undefined;
    case "admin":
    case "user": return p.user;
    case "node": return `node:${p.node}`;
  }
}

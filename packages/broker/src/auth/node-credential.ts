/**
 * How a node speaks to the cluster as a client (a follower forwarding its
 * system events to the leader, a joining node asking to be added): with a
 * token derived from the cluster secret, `rbn1.<nodeId>.<mac>`, where the
 * MAC is an HMAC-SHA-256 of the node id under a key derived (HKDF) from the
 * secret for this purpose alone. Every member can check it; nobody without
 * the secret can make one. During a secret rotation the previous secret's
 * tokens are accepted too. What such a session may do is narrow (access.ts):
 * forward events, read the cluster status, and add ITSELF to the cluster.
 */
import { constantTimeEqual, deriveKey, mac } from "@raftbus/client/protocol";
import type { SysKey } from "@raftbus/client/protocol";

/** Prefix of node tokens (version 1). */
export const NODE_TOKEN_PREFIX = "rbn1";

/** HKDF label of the node-credential key (distinct from every other key derived from the secret). */
const NODE_CREDENTIAL_LABEL = "raftbus node client credential v1";

const NODE_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const utf8 = new TextEncoder();

function keyOf(clusterSecret: string, clusterId: string): SysKey {
  return deriveKey(clusterSecret, clusterId, NODE_CREDENTIAL_LABEL);
}

/** The token node `nodeId` presents. */
export function nodeToken(clusterSecret: string, clusterId: string, nodeId: string): string {
  return `${NODE_TOKEN_PREFIX}.${nodeId}.${Buffer.from(mac(keyOf(clusterSecret, clusterId), utf8.encode(nodeId))).toString("base64url")}`;
}

/** Checks node tokens under the current (and a previous) cluster secret. */
export class NodeCredentials {
  private readonly keys: readonly SysKey[];

  constructor(clusterId: string, clusterSecret: string, previousSecret = "") {
    this.keys = previousSecret === "" ? [keyOf(clusterSecret, clusterId)] : [keyOf(clusterSecret, clusterId), keyOf(previousSecret, clusterId)];
  }

  /** The node id a valid node token names; undefined for anything else. */
  verify(token: string): string | undefined {
    const parts = token.split(".");
    if (parts.length !== 3 || parts[0] !== NODE_TOKEN_PREFIX || !NODE_ID_RE.test(parts[1]!)) return undefined;
    const id = parts[1]!;
    const tag = new Uint8Array(Buffer.from(parts[2]!, "base64url"));
    return this.keys.some((k) => constantTimeEqual(mac(k, utf8.encode(id)), tag)) ? id : undefined;
  }
}

/**
 * The node's side of system-message signing (docs/system-events.md
 * §Signing): the signing key derived from the cluster secret, the keys it
 * accepts (current and, during a rotation, the previous secret's), and the
 * key that authenticates events a follower forwards to the leader.
 */
import {
  SYS_SIGNATURE_HEADER, SYS_UNSIGNED, constantTimeEqual, deriveKey, deriveSysKey, mac, signSysMessage,
} from "@raftbus/client/protocol";
import type { SignedFields, SysKey } from "@raftbus/client/protocol";

/** HKDF label of the forwarding key (distinct from the signing key's and the peer-auth secret). */
const FORWARD_LABEL = "raftbus sys-event forwarding v1";

/** What the signer needs. */
export interface SignerOptions {
  readonly clusterId: string;
  readonly clusterSecret: string;
  /** The secret being rotated out; "" when none. */
  readonly previousSecret: string;
  /** True when the secret is the public development default: messages go out unsigned. */
  readonly development: boolean;
}

/** See the module comment. */
export class SysSigner {
  /** The key that signs (undefined in development mode: messages are marked unsigned). */
  readonly signingKey: SysKey | undefined;
  /**
   * Forwarding keys: the current secret's and, during a rotation, the
   * previous one's. A batch carries a MAC under each, and a leader accepts
   * it when any MAC checks under any of its keys, so nodes on the old, the
   * rotating and the new configuration all understand each other.
   */
  private readonly forwardKeys: readonly SysKey[];

  constructor(o: SignerOptions) {
    this.signingKey = o.development ? undefined : deriveSysKey(o.clusterSecret, o.clusterId);
    const current = deriveKey(o.clusterSecret, o.clusterId, FORWARD_LABEL);
    const previous = o.previousSecret === "" ? undefined : deriveKey(o.previousSecret, o.clusterId, FORWARD_LABEL);
    this.forwardKeys = previous === undefined ? [current] : [current, previous];
  }

  /** "signed" or "unsigned" (development: no real secret). */
  get mode(): "signed" | "unsigned" {
    return this.signingKey === undefined ? "unsigned" : "signed";
  }

  /** The signature header value for `m`. */
  sign(m: SignedFields): string {
    return this.signingKey === undefined ? SYS_UNSIGNED : signSysMessage(m, this.signingKey);
  }

  /** Headers of `m` with its signature added. */
  signedHeaders(m: SignedFields): Record<string, string> {
    return { ...m.headers, [SYS_SIGNATURE_HEADER]: this.sign(m) };
  }

  /** MACs of a forwarded batch, one per forwarding key. */
  forwardMacs(data: Uint8Array): Uint8Array[] {
    return this.forwardKeys.map((k) => mac(k, data));
  }

  /** True when one of `tags` authenticates `data` under a key this node accepts. */
  checkForwardMac(data: Uint8Array, tags: readonly Uint8Array[]): boolean {
    return this.forwardKeys.some((k) => {
      const expected = mac(k, data);
      return tags.some((t) => constantTimeEqual(expected, t));
    });
  }
}

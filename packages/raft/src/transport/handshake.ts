/**
 * Peer authentication: both sides of a connection prove they know the
 * cluster secret by MAC-ing a transcript that includes the other side's
 * fresh nonce (frames.ts describes the exchange). The secret itself never
 * crosses the wire.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { NodeId } from "../core/types.ts";
import { AUTH_BYTES } from "./frames.ts";

/** Which side of the connection computes the tag: the two tags differ so one cannot be reflected as the other. */
export type HandshakeRole = "dial" | "accept";

/** Everything the tag covers. `ownNonce` is the signer's nonce, `peerNonce` the verifier's challenge. */
export interface HandshakeTranscript {
  readonly role: HandshakeRole;
  readonly clusterId: string;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly peerNonce: Uint8Array;
  readonly ownNonce: Uint8Array;
}

/** Bytes of the nonces we send (within NONCE_BYTES_MIN..NONCE_BYTES_MAX). */
export const NONCE_BYTES = 32;

/** A fresh random nonce. */
export function makeNonce(): Uint8Array {
  return new Uint8Array(randomBytes(NONCE_BYTES));
}

/** HMAC-SHA256 of the transcript under `secret`. */
export function computeAuth(secret: string | Uint8Array, t: HandshakeTranscript): Uint8Array {
  const mac = createHmac("sha256", secret);
  // Length-prefix every field so no two transcripts serialize alike.
  for (const part of ["raftbus-peer-v1", t.role, t.clusterId, t.from, t.to]) {
    const bytes = Buffer.from(part, "utf8");
    mac.update(lengthPrefix(bytes.byteLength)).update(bytes);
  }
  for (const nonce of [t.peerNonce, t.ownNonce]) mac.update(lengthPrefix(nonce.byteLength)).update(nonce);
  return new Uint8Array(mac.digest());
}

/** Constant-time check of a peer's tag. */
export function verifyAuth(secret: string | Uint8Array, t: HandshakeTranscript, auth: Uint8Array): boolean {
  if (auth.byteLength !== AUTH_BYTES) return false;
  return timingSafeEqual(computeAuth(secret, t), auth);
}

function lengthPrefix(n: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

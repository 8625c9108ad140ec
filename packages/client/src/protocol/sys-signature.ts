/**
 * Signatures of system messages (`$sys.*`, docs/system-events.md §Signing),
 * shared by the node that signs and the SDK that verifies, so both encode
 * exactly the same bytes.
 *
 * - Key: HKDF-SHA-256 of the cluster secret with its own label, never the
 *   secret itself (which also authenticates peers): holding the signing key
 *   does not let anyone join the cluster.
 * - Key id: the first 8 hex digits of SHA-256(key), carried in every
 *   signature, so verifiers can hold old and new keys during a rotation.
 * - MAC: HMAC-SHA-256 over a canonical encoding of the topic, id, sender,
 *   payload and headers (sorted, without the signature header), each field
 *   length-prefixed so no two messages encode alike.
 * - Header `raftbus-sig`: `v1.<keyId>.<base64url mac>`, or `unsigned` when
 *   the cluster runs without a secret (development).
 *
 * The HMAC is @noble/hashes: synchronous, and the same code in Node and in
 * browsers (WebCrypto is async and missing on plain-http pages, which is
 * how a homelab dashboard is usually opened).
 */
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { RaftbusError } from "./errors.ts";
import { macInput } from "./mac-input.ts";

import { SYS_SIGNATURE_HEADER, SYS_UNSIGNED } from "./sys-families.ts";

export { SYS_SIGNATURE_HEADER, SYS_UNSIGNED };
/** Prefix of an exported verification key: `rbsk1.<keyId>.<base64url key>`. */
const KEY_PREFIX = "rbsk1";
/** HKDF info labels: one per purpose, so one secret yields independent keys. */
const SIGNING_LABEL = "raftbus sys-event signing v1";
const DOMAIN = "raftbus-sys-v1";

/** A signing/verification key and its id. */
export interface SysKey {
  /** 8 hex digits identifying the key (in every signature it made). */
  readonly id: string;
  readonly key: Uint8Array;
}

/** The fields a system message signature covers. */
export interface SignedFields {
  readonly topic: string;
  readonly id: string;
  readonly senderId: string;
  readonly payload: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}

/** Outcome of verifying a message. */
export type SysVerification =
  /** Signed by a key the verifier holds, and intact. */
  | "verified"
  /** The cluster runs without a secret: nothing to verify. */
  | "unsigned"
  /** Signed by a key the verifier does not hold (rotation: add the new key). */
  | "unknown-key"
  /** The signature does not match: altered, or not from the cluster. */
  | "invalid"
  /** The verifier holds no key. */
  | "no-keys"
  /** Not a system message (no signature header). */
  | "not-signed";

const utf8 = new TextEncoder();

/** Derive a purpose-specific key from the cluster secret (HKDF-SHA-256, 32 bytes). */
export function deriveKey(clusterSecret: string, clusterId: string, label: string): SysKey {
  const key = hkdf(sha256, utf8.encode(clusterSecret), utf8.encode(`raftbus/${clusterId}`), utf8.encode(label), 32);
  return { id: hex(sha256(key)).slice(0, 8), key };
}

/** The system-event signing key of a cluster. */
export function deriveSysKey(clusterSecret: string, clusterId: string): SysKey {
  return deriveKey(clusterSecret, clusterId, SIGNING_LABEL);
}

/** A key in its printable form, for clients: `rbsk1.<id>.<base64url key>`. */
export function formatSysKey(k: SysKey): string {
  return `${KEY_PREFIX}.${k.id}.${base64url(k.key)}`;
}

/** Parse a printable key; INVALID_ARGUMENT when it is not one or its id does not match its bytes. */
export function parseSysKey(text: string): SysKey {
  const m = /^rbsk1\.([0-9a-f]{8})\.([A-Za-z0-9_-]{43})$/.exec(text.trim());
  if (m === null) throw new RaftbusError("INVALID_ARGUMENT", "a system key looks like rbsk1.<8 hex>.<43 base64url characters> (see `raftbus sys key`)");
  const key = fromBase64url(m[2]!);
  const id = hex(sha256(key)).slice(0, 8);
  if (id !== m[1]) throw new RaftbusError("INVALID_ARGUMENT", `system key ${m[1]} is damaged: its bytes hash to ${id}`);
  return { id, key };
}

/** The canonical bytes a signature covers. */
export function canonicalBytes(m: SignedFields): Uint8Array {
  return macInput([DOMAIN, m.topic, m.id, m.senderId, m.payload], m.headers, SYS_SIGNATURE_HEADER);
}

/** The signature header value of `m` under `key`. */
export function signSysMessage(m: SignedFields, key: SysKey): string {
  return `v1.${key.id}.${base64url(hmac(sha256, key.key, canonicalBytes(m)))}`;
}

/** Verify `m`'s signature header against the keys held (any of them: rotation). */
export function verifySysMessage(m: SignedFields, keys: readonly SysKey[]): SysVerification {
  const sig = m.headers[SYS_SIGNATURE_HEADER];
  if (sig === undefined) return "not-signed";
  if (sig === SYS_UNSIGNED) return "unsigned";
  if (keys.length === 0) return "no-keys";
  const parts = /^v1\.([0-9a-f]{8})\.([A-Za-z0-9_-]{43})$/.exec(sig);
  if (parts === null) return "invalid";
  const key = keys.find((k) => k.id === parts[1]);
  if (key === undefined) return "unknown-key";
  const expected = hmac(sha256, key.key, canonicalBytes(m));
  return constantTimeEqual(expected, fromBase64url(parts[2]!)) ? "verified" : "invalid";
}

/** HMAC-SHA-256 of `data` under `key` (for authenticating other system traffic, e.g. forwarded events). */
export function mac(key: SysKey, data: Uint8Array): Uint8Array {
  return hmac(sha256, key.key, data);
}

/** Compare two MACs without an early exit. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** base64url without padding (no Buffer: this module runs in browsers too). */
export function base64url(b: Uint8Array): string {
  let out = "";
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    const chars = i + 2 < b.length ? 4 : i + 1 < b.length ? 3 : 2;
    for (let j = 0; j < chars; j++) out += B64[(n >> (18 - 6 * j)) & 63];
  }
  return out;
}

/** Inverse of {@link base64url}. */
export function fromBase64url(s: string): Uint8Array {
  const out = new Uint8Array(Math.floor((s.length * 6) / 8));
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const c of s) {
    const v = B64.indexOf(c);
    if (v < 0) throw new RaftbusError("INVALID_ARGUMENT", "not base64url");
    value = (value << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (value >> bits) & 0xff;
    }
  }
  return out;
}

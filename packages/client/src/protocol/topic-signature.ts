/**
 * Signed topics (issue 13, part 4), shared by the node that checks and the
 * SDK that signs and verifies, so both encode exactly the same bytes.
 *
 * - A signing key has a name the operator picks (`raftbus key add deploy
 *   --topics 'deploy.**'`) and 32 random bytes; the cluster keeps it in its
 *   replicated state and requires every publish to a topic its pattern
 *   matches to carry a valid signature by it (SIGNATURE_REQUIRED,
 *   SIGNATURE_INVALID otherwise).
 * - Printable form, handed to publishers and subscribers:
 *   `rbtk1.<name>.<base64url key>`.
 * - MAC: HMAC-SHA-256 over the topic, the message id, the payload and the
 *   headers (sorted, without the signature header), each length-prefixed
 *   under their own domain label. The id is covered, so a recorded message
 *   replayed as is is the same message (deduplicated within the dedup
 *   window), and a signed message always carries its id.
 * - Header `raftbus-topic-sig`: `v1.<name>.<base64url mac>`.
 *
 * @noble/hashes, as for system events: synchronous and the same in browsers.
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { RaftbusError } from "./errors.ts";
import { macInput } from "./mac-input.ts";
import { base64url, constantTimeEqual, fromBase64url } from "./sys-signature.ts";

/** The header that carries a topic signature. */
export const TOPIC_SIGNATURE_HEADER = "raftbus-topic-sig";

/** Signing key names: what `raftbus key add NAME` accepts. */
export const SIGNING_KEY_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** Bytes of a signing key's secret. */
export const SIGNING_KEY_BYTES = 32;

const KEY_PREFIX = "rbtk1";
const DOMAIN = "raftbus-topic-sig-v1";

/** A topic signing key: its name and secret bytes. */
export interface TopicSigningKey {
  readonly name: string;
  readonly key: Uint8Array;
}

/** The fields a topic signature covers. */
export interface TopicSignedFields {
  readonly topic: string;
  readonly id: string;
  readonly payload: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}

/** Outcome of checking a message's topic signature against the keys held. */
export type TopicVerification = "verified" | "not-signed" | "unknown-key" | "invalid";

/** A key in its printable form: `rbtk1.<name>.<base64url key>`. */
export function formatTopicKey(k: TopicSigningKey): string {
  return `${KEY_PREFIX}.${k.name}.${base64url(k.key)}`;
}

/** Parse a printable key; INVALID_ARGUMENT when it is not one. */
export function parseTopicKey(text: string): TopicSigningKey {
  const m = /^rbtk1\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{43})$/.exec(text.trim());
  if (m === null) throw new RaftbusError("INVALID_ARGUMENT", "a topic signing key looks like rbtk1.<name>.<43 base64url characters> (`raftbus key add` prints it)");
  return { name: m[1]!, key: fromBase64url(m[2]!) };
}

/** The canonical bytes a topic signature covers. */
export function topicCanonicalBytes(m: TopicSignedFields): Uint8Array {
  return macInput([DOMAIN, m.topic, m.id, m.payload], m.headers, TOPIC_SIGNATURE_HEADER);
}

/** The signature header value of `m` under `key`. */
export function signTopicMessage(m: TopicSignedFields, key: TopicSigningKey): string {
  return `v1.${key.name}.${base64url(hmac(sha256, key.key, topicCanonicalBytes(m)))}`;
}

/** The key name a signature header names, or undefined when the header is not a signature. */
export function topicSignatureKeyName(header: string): string | undefined {
  return /^v1\.([A-Za-z0-9_-]{1,64})\.[A-Za-z0-9_-]{43}$/.exec(header)?.[1];
}

/** Check `m`'s signature against the keys held (any of them: a topic may accept several). */
export function verifyTopicMessage(m: TopicSignedFields, keys: readonly TopicSigningKey[]): TopicVerification {
  const sig = m.headers[TOPIC_SIGNATURE_HEADER];
  if (sig === undefined) return "not-signed";
  const parts = /^v1\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{43})$/.exec(sig);
  if (parts === null) return "invalid";
  const key = keys.find((k) => k.name === parts[1]);
  if (key === undefined) return "unknown-key";
  return constantTimeEqual(hmac(sha256, key.key, topicCanonicalBytes(m)), fromBase64url(parts[2]!)) ? "verified" : "invalid";
}


/**
 * End-to-end encrypted payloads (issue 13, part 4): the publisher encrypts
 * with a key only the publishers and subscribers of a topic hold, so the
 * nodes store, replicate and snapshot ciphertext they cannot read.
 *
 * - AES-256-GCM through WebCrypto (`globalThis.crypto.subtle`: Node ≥ 20
 *   and browsers on https or localhost): a fresh random 96-bit IV per
 *   message, and the topic name as additional data, so a ciphertext moved
 *   to another topic does not decrypt.
 * - Stored payload: `iv (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`.
 * - Header `raftbus-enc`: `A256GCM.<key id>`; the key id (8 hex digits of
 *   SHA-256 of the key) lets a subscriber holding several keys (rotation)
 *   pick the right one, and say which one it lacks.
 * - Printable key: `rbek1.<key id>.<base64url key>`.
 *
 * Only the payload is encrypted: topic, id, headers and the rest of the
 * envelope stay readable to the cluster (it routes and filters on them).
 * Signing (topic-signature.ts) comes after encryption and covers the
 * ciphertext and this header, so the nodes can check signatures without
 * the key.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { RaftbusError } from "../protocol/index.ts";
import { base64url, fromBase64url } from "../protocol/sys-signature.ts";

/** The header that marks an encrypted payload and names its key. */
export const ENCRYPTION_HEADER = "raftbus-enc";

const ALGORITHM = "A256GCM";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const utf8 = new TextEncoder();

/** A payload encryption key and its id. */
export interface PayloadKey {
  /** 8 hex digits of SHA-256 of the key (in the header of every message it encrypted). */
  readonly id: string;
  readonly key: Uint8Array;
}

function subtle(): SubtleCrypto {
  const s = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (s === undefined) throw new RaftbusError("INVALID_ARGUMENT", "payload encryption needs WebCrypto (globalThis.crypto.subtle): Node ≥ 20, or a browser page on https or localhost");
  return s;
}

/** A copy on its own ArrayBuffer (WebCrypto takes no views of shared or foreign buffers). */
function owned(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

function keyId(key: Uint8Array): string {
  let s = "";
  for (const b of sha256(key).subarray(0, 4)) s += b.toString(16).padStart(2, "0");
  return s;
}

/** A fresh random key. */
export function generatePayloadKey(): PayloadKey {
  const key = new Uint8Array(KEY_BYTES);
  globalThis.crypto.getRandomValues(key);
  return { id: keyId(key), key };
}

/** The printable form: `rbek1.<id>.<base64url key>`. */
export function formatPayloadKey(k: PayloadKey): string {
  return `rbek1.${k.id}.${base64url(k.key)}`;
}

/** Parse a printable key; INVALID_ARGUMENT when it is not one or is damaged. */
export function parsePayloadKey(text: string): PayloadKey {
  const m = /^rbek1\.([0-9a-f]{8})\.([A-Za-z0-9_-]{43})$/.exec(text.trim());
  if (m === null) throw new RaftbusError("INVALID_ARGUMENT", "a payload key looks like rbek1.<8 hex>.<43 base64url characters> (see generatePayloadKey)");
  const key = fromBase64url(m[2]!);
  if (keyId(key) !== m[1]) throw new RaftbusError("INVALID_ARGUMENT", `payload key ${m[1]} is damaged: its bytes hash to ${keyId(key)}`);
  return { id: m[1]!, key };
}

/** Encrypts `plaintext` for `topic`: the stored payload and the header value that goes with it. */
export async function encryptPayload(key: PayloadKey, topic: string, plaintext: Uint8Array): Promise<{ readonly payload: Uint8Array; readonly header: string }> {
  const iv = new Uint8Array(IV_BYTES);
  globalThis.crypto.getRandomValues(iv);
  const k = await subtle().importKey("raw", owned(key.key), "AES-GCM", false, ["encrypt"]);
  const sealed = new Uint8Array(await subtle().encrypt({ name: "AES-GCM", iv, additionalData: utf8.encode(topic) }, k, owned(plaintext)));
  const payload = new Uint8Array(IV_BYTES + sealed.length);
  payload.set(iv, 0);
  payload.set(sealed, IV_BYTES);
  return { payload, header: `${ALGORITHM}.${key.id}` };
}

/** True when a message's headers say its payload is encrypted. */
export function isEncrypted(headers: Readonly<Record<string, string>>): boolean {
  return headers[ENCRYPTION_HEADER] !== undefined;
}

/**
 * Decrypts a message's payload with whichever of `keys` encrypted it.
 * @throws RaftbusError INVALID_ARGUMENT when the message is not encrypted;
 *   DECRYPTION_FAILED when no key given has its id, or it does not decrypt
 *   (wrong key, altered, or moved from another topic).
 */
export async function decryptPayload(keys: PayloadKey | readonly PayloadKey[], m: { readonly topic: string; readonly payload: Uint8Array; readonly headers: Readonly<Record<string, string>> }): Promise<Uint8Array> {
  const header = m.headers[ENCRYPTION_HEADER];
  if (header === undefined) throw new RaftbusError("INVALID_ARGUMENT", `the message on ${m.topic} is not encrypted (no ${ENCRYPTION_HEADER} header)`);
  const parts = /^A256GCM\.([0-9a-f]{8})$/.exec(header);
  if (parts === null) throw new RaftbusError("DECRYPTION_FAILED", `unknown encryption ${JSON.stringify(header.slice(0, 40))}`);
  const held = Array.isArray(keys) ? (keys as readonly PayloadKey[]) : [keys as PayloadKey];
  const key = held.find((k) => k.id === parts[1]);
  if (key === undefined) throw new RaftbusError("DECRYPTION_FAILED", `encrypted with key ${parts[1]}; the keys given are ${held.map((k) => k.id).join(", ") || "none"}`);
  if (m.payload.length < IV_BYTES + TAG_BYTES) throw new RaftbusError("DECRYPTION_FAILED", "the encrypted payload is too short");
  const k = await subtle().importKey("raw", owned(key.key), "AES-GCM", false, ["decrypt"]);
  try {
    const iv = owned(m.payload.subarray(0, IV_BYTES));
    return new Uint8Array(await subtle().decrypt({ name: "AES-GCM", iv, additionalData: utf8.encode(m.topic) }, k, owned(m.payload.subarray(IV_BYTES))));
  } catch (err) {
    throw new RaftbusError("DECRYPTION_FAILED", `the payload of the message on ${m.topic} does not decrypt with key ${key.id}: altered, or encrypted for another topic`, { cause: err });
  }
}

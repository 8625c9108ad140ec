/**
 * User tokens: `rbu1.<user>.<secret>`, where the secret is 32 random bytes
 * (base64url) drawn by the node that creates or rotates the user. Only the
 * SHA-256 of the whole token is kept, in the replicated state: a 256-bit
 * random secret needs no slow hash (nothing to guess offline), and the log,
 * snapshots and backups never hold a usable credential. The user name in
 * the token lets the node find the record in one lookup; the comparison of
 * hashes is constant-time.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** Prefix of user tokens (version 1). */
export const USER_TOKEN_PREFIX = "rbu1";

/** Bytes of a token hash (SHA-256). */
export const TOKEN_HASH_BYTES = 32;

/** Random bytes in a generated token's secret. */
const SECRET_BYTES = 32;

/** User names: one topic segment (they name reply inboxes), as node ids. */
export const USER_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** A fresh token for `user` (shown once, never stored). */
export function generateToken(user: string): string {
  return `${USER_TOKEN_PREFIX}.${user}.${randomBytes(SECRET_BYTES).toString("base64url")}`;
}

/** The SHA-256 of a token: what the replicated state keeps. */
export function hashToken(token: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(token, "utf8").digest());
}

/** The user a token names, or undefined when it is not a user token. */
export function tokenUser(token: string): string | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== USER_TOKEN_PREFIX || !USER_NAME_RE.test(parts[1]!)) return undefined;
  return parts[1];
}

/** Constant-time comparison of two token hashes. */
export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

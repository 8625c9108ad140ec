/** Body group: topic signing keys (issue 13 part 4; protocol/topic-signature.ts). */
import { arr, bytes, Empty, nat, nonEmptyStr, opt, shape, str } from "./wire.ts";

/** `key.add`: register a signing key that guards the topics `pattern` matches. */
export const KeyAddRequest = shape("KeyAddRequest", {
  name: nonEmptyStr("1–64 of A-Z a-z 0-9 _ -"),
  pattern: nonEmptyStr("the topics it guards: an exact name or a wildcard pattern (a.*, a.**); not a regex, not $sys."),
  key: opt(bytes("32 secret bytes; default: random, chosen by the leader")),
});

/** `key.add` response: the only answer that carries the secret. */
export const KeyAddResponse = shape("KeyAddResponse", {
  name: nonEmptyStr("the key's name"),
  pattern: nonEmptyStr("the topics it guards"),
  key: nonEmptyStr("the key in printable form, rbtk1.<name>.<base64url>: give it to the publishers and subscribers, keep it secret"),
  fingerprint: nonEmptyStr("8 hex digits of SHA-256 of the secret, to tell keys apart without showing them"),
});

/** One key as `key.list` shows it (never the secret). */
export const KeyInfo = shape("KeyInfo", {
  name: nonEmptyStr("the key's name"),
  pattern: nonEmptyStr("the topics it guards"),
  fingerprint: nonEmptyStr("8 hex digits of SHA-256 of the secret"),
  createdAt: nat("log time it was added (ms since epoch)"),
});

/** `key.list` response. */
export const KeyListResponse = shape("KeyListResponse", { keys: arr(KeyInfo, "every signing key, by name", 256) });

/** `key.remove`. */
export const KeyRemoveRequest = shape("KeyRemoveRequest", { name: nonEmptyStr("the key to forget") });

/** `key.remove` response. */
export const KeyRemoveResponse = shape("KeyRemoveResponse", { name: str("the key forgotten") });

/** The request kinds of this group. */
export const keyKinds = {
  "key.add": { request: KeyAddRequest, response: KeyAddResponse, servedBy: "leader" },
  "key.list": { request: Empty, response: KeyListResponse, servedBy: "leader" },
  "key.remove": { request: KeyRemoveRequest, response: KeyRemoveResponse, servedBy: "leader" },
} as const;

/**
 * Topic signing keys (issue 13, part 4): added and removed through the log,
 * listed from the leader's applied state (never with their secrets).
 */
import { createHash, randomBytes } from "node:crypto";
import { SIGNING_KEY_BYTES, formatTopicKey } from "@raftbus/client/protocol";
import type { EmptyBody, KeyAddRequest, KeyAddResponse, KeyListResponse, KeyRemoveRequest, KeyRemoveResponse } from "@raftbus/client/protocol";
import type { Command } from "../../commands/types.ts";
import type { HandlerContext } from "../node-server.ts";
import { proposeCommand } from "../proposer.ts";
import type { ClientSession } from "../session.ts";
import { checkVersionedProposal } from "./fresh-version.ts";
import { requireLeader } from "./leader.ts";

/** 8 hex digits of SHA-256 of a secret: tells keys apart without showing them. */
export function keyFingerprint(key: Uint8Array): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 8);
}

/** `key.add`: the leader draws the secret (unless given) and proposes it; the answer is the only place it is shown. */
export async function addKey(ctx: HandlerContext, _s: ClientSession, body: KeyAddRequest): Promise<KeyAddResponse> {
  requireLeader(ctx);
  const key = body.key !== undefined ? new Uint8Array(body.key) : new Uint8Array(randomBytes(SIGNING_KEY_BYTES));
  const command = await checkVersionedProposal(ctx, () => ({ type: "putSigningKey", now: Date.now(), name: body.name, pattern: body.pattern, key })) as Command & { type: "putSigningKey" };
  const res = await proposeCommand(ctx.raft, command);
  return { name: res.name, pattern: res.pattern, key: formatTopicKey({ name: res.name, key: command.key }), fingerprint: keyFingerprint(command.key) };
}

/** `key.list`: every key by name, from the leader's applied state. */
export async function listKeys(ctx: HandlerContext, _s: ClientSession, _body: EmptyBody): Promise<KeyListResponse> {
  requireLeader(ctx);
  const keys = [...ctx.broker.signingKeys().values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { keys: keys.map((k) => ({ name: k.name, pattern: k.pattern, fingerprint: keyFingerprint(k.key), createdAt: k.createdAt })) };
}

/** `key.remove`. */
export async function removeKey(ctx: HandlerContext, _s: ClientSession, body: KeyRemoveRequest): Promise<KeyRemoveResponse> {
  requireLeader(ctx);
  const command = await checkVersionedProposal(ctx, () => ({ type: "removeSigningKey", now: Date.now(), name: body.name })) as Command & { type: "removeSigningKey" };
  const res = await proposeCommand(ctx.raft, command);
  return { name: res.name };
}

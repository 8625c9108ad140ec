/**
 * apply() of the topic signing key registry (cluster version ≥ 5). The
 * registry is replicated state: every node holds the same keys, so any
 * leader checks publishes against the same set, and snapshots and backups
 * carry it. Keys are added and removed, never changed in place.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import type { PutSigningKeyCommand, RemoveSigningKeyCommand } from "../commands/types.ts";
import { compilePattern } from "../pattern/pattern.ts";
import type { CompiledPattern } from "../pattern/pattern.ts";
import type { SigningKeyRecord } from "../store/records.ts";
import type { ApplyContext } from "./context.ts";
import type { CommandResult } from "./results.ts";

/** Most signing keys a cluster holds: each publish to a guarded topic is matched against them. */
export const SIGNING_KEYS_MAX = 256;

/** Adds a key; KEY_EXISTS for a taken name, LIMIT_EXCEEDED past {@link SIGNING_KEYS_MAX}. */
export function applyPutSigningKey(ctx: ApplyContext, c: PutSigningKeyCommand): CommandResult {
  if (ctx.state.signingKeys.has(c.name)) {
    throw new RaftbusError("KEY_EXISTS", `signing key ${c.name} exists; keys are never changed in place: add one under a new name, move the publishers to it, then remove ${c.name}`);
  }
  if (ctx.state.signingKeys.size >= SIGNING_KEYS_MAX) {
    throw new RaftbusError("LIMIT_EXCEEDED", `the cluster holds ${SIGNING_KEYS_MAX} signing keys already`, { details: { limit: "signingKeysMax", max: SIGNING_KEYS_MAX } });
  }
  ctx.state.putSigningKey(ctx.txn, { name: c.name, pattern: c.pattern, key: c.key, createdAt: ctx.now });
  return { ok: true, type: "putSigningKey", name: c.name, pattern: c.pattern, createdAt: ctx.now };
}

/** Removes a key; KEY_NOT_FOUND when there is none of that name. */
export function applyRemoveSigningKey(ctx: ApplyContext, c: RemoveSigningKeyCommand): CommandResult {
  if (!ctx.state.signingKeys.has(c.name)) throw new RaftbusError("KEY_NOT_FOUND", `there is no signing key ${c.name} (see \`raftbus key list\`)`);
  ctx.state.removeSigningKey(ctx.txn, c.name);
  return { ok: true, type: "removeSigningKey", name: c.name };
}

/** Compiled patterns of key records (records are immutable: a new record is a new key). */
const compiled = new WeakMap<SigningKeyRecord, CompiledPattern>();

/** The keys among `keys` whose pattern matches `topic`: a publish there needs a signature by one of them (none: no signature needed). */
export function keysGuarding(keys: Iterable<SigningKeyRecord>, topic: string): SigningKeyRecord[] {
  const out: SigningKeyRecord[] = [];
  for (const k of keys) {
    let p = compiled.get(k);
    if (p === undefined) {
      p = compilePattern(k.pattern);
      compiled.set(k, p);
    }
    if (p.matches(topic)) out.push(k);
  }
  return out;
}

/**
 * apply() of the user commands (cluster version ≥ 4). The command carries
 * the token's hash, never the token, so every replica writes the same bytes.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import type { PutUserCommand, RemoveUserCommand } from "../commands/types.ts";
import type { ApplyContext } from "./context.ts";
import type { CommandResult } from "./results.ts";

/** Creates a user, or changes its token hash and/or grants. */
export function applyPutUser(ctx: ApplyContext, c: PutUserCommand): CommandResult {
  const existing = ctx.state.users.get(c.name);
  if (c.create) {
    if (existing !== undefined) throw new RaftbusError("USER_EXISTS", `user '${c.name}' exists; rotate its token or remove it first`);
    ctx.state.putUser(ctx.txn, { name: c.name, tokenHash: c.tokenHash!, grants: c.grants!, createdAt: ctx.now, updatedAt: ctx.now });
    return { ok: true, type: "putUser", name: c.name, created: true };
  }
  if (existing === undefined) throw new RaftbusError("USER_NOT_FOUND", `no user '${c.name}'`);
  ctx.state.putUser(ctx.txn, {
    ...existing, tokenHash: c.tokenHash ?? existing.tokenHash, grants: c.grants ?? existing.grants, updatedAt: ctx.now,
  });
  return { ok: true, type: "putUser", name: c.name, created: false };
}

/** Deletes a user. */
export function applyRemoveUser(ctx: ApplyContext, c: RemoveUserCommand): CommandResult {
  if (!ctx.state.users.has(c.name)) throw new RaftbusError("USER_NOT_FOUND", `no user '${c.name}'`);
  ctx.state.removeUser(ctx.txn, c.name);
  return { ok: true, type: "removeUser", name: c.name };
}

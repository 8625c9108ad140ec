/**
 * `user.add|rotate|grant|remove|list` (issue 13 part 1). The leader draws
 * each token and proposes only its SHA-256 (auth/tokens.ts), so the token is
 * answered once and then exists nowhere in the cluster. The commands need
 * cluster version 4 (checkProposal answers FEATURE_NOT_ENABLED before
 * `cluster finalize-upgrade`; a new cluster's requests wait for its version,
 * fresh-version.ts).
 */
import { RaftbusError } from "@raftbus/client/protocol";
import type {
  EmptyBody, UserAddRequest, UserGrantRequest, UserListResponse, UserNameResponse, UserRemoveRequest, UserRotateRequest, UserTokenResponse,
} from "@raftbus/client/protocol";
import { normalizeGrants } from "../../auth/grants.ts";
import { generateToken, hashToken } from "../../auth/tokens.ts";
import type { Command } from "../../commands/types.ts";
import { userName } from "../../commands/validate.ts";
import { ADMIN_USER } from "../auth/admin-token.ts";
import type { HandlerContext } from "../node-server.ts";
import { proposeCommand } from "../proposer.ts";
import type { ClientSession } from "../session.ts";
import { checkVersionedProposal } from "./fresh-version.ts";
import { requireLeader } from "./leader.ts";

/** `user.add`. */
export async function addUser(ctx: HandlerContext, _s: ClientSession, body: UserAddRequest): Promise<UserTokenResponse> {
  requireLeader(ctx);
  const name = checkName(body.name);
  const grants = normalizeGrants(body.grants);
  const token = generateToken(name);
  await put(ctx, { name, create: true, tokenHash: hashToken(token), grants });
  return { name, token, grants };
}

/** `user.rotate`. */
export async function rotateUser(ctx: HandlerContext, _s: ClientSession, body: UserRotateRequest): Promise<UserTokenResponse> {
  requireLeader(ctx);
  const name = checkName(body.name);
  const token = generateToken(name);
  await put(ctx, { name, create: false, tokenHash: hashToken(token) });
  return { name, token, grants: [...(ctx.broker.user(name)?.grants ?? [])] };
}

/** `user.grant`. */
export async function grantUser(ctx: HandlerContext, _s: ClientSession, body: UserGrantRequest): Promise<UserNameResponse> {
  requireLeader(ctx);
  const name = checkName(body.name);
  await put(ctx, { name, create: false, grants: normalizeGrants(body.grants) });
  return { name };
}

/** `user.remove`. */
export async function removeUser(ctx: HandlerContext, _s: ClientSession, body: UserRemoveRequest): Promise<UserNameResponse> {
  requireLeader(ctx);
  const name = checkName(body.name);
  await proposeCommand(ctx.raft, await checkVersionedProposal(ctx, () => ({ type: "removeUser", now: Date.now(), name })) as Command & { type: "removeUser" });
  return { name };
}

/** `user.list`: from the leader's applied state. */
export async function listUsers(ctx: HandlerContext, _s: ClientSession, _body: EmptyBody): Promise<UserListResponse> {
  requireLeader(ctx);
  const users = [...ctx.broker.users().values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((u) => ({ name: u.name, grants: [...u.grants], createdAt: u.createdAt, updatedAt: u.updatedAt }));
  return { users, ...(ctx.config.auth === "token" ? { admin: ADMIN_USER } : {}) };
}

function checkName(value: string): string {
  const name = userName(value);
  if (name === ADMIN_USER) throw new RaftbusError("INVALID_ARGUMENT", `'${ADMIN_USER}' is the configured admin (node config adminToken/adminTokenFile), not a replicated user; pick another name`);
  return name;
}

async function put(ctx: HandlerContext, fields: { name: string; create: boolean; tokenHash?: Uint8Array; grants?: readonly string[] }): Promise<void> {
  await proposeCommand(ctx.raft, await checkVersionedProposal(ctx, () => ({ type: "putUser", now: Date.now(), ...fields })) as Command & { type: "putUser" });
}

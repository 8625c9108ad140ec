/** Body group: users and their grants (README "Security"; issue 13). */
import { arr, Empty, nat, nonEmptyStr, opt, shape } from "./wire.ts";

/** Most grants one user holds (the server checks the same bound). */
export const USER_GRANTS_MAX = 64;
/** Most users one `user.list` answer carries. */
export const USERS_LIST_MAX = 10_000;

const grants = (description: string) => arr(nonEmptyStr("a grant: admin, monitor, pub:PATTERN, sub:PATTERN, pubsub:PATTERN or admin:SCOPE"), description, USER_GRANTS_MAX);

/** `user.add`: create a user; the server draws its token and answers it once. */
export const UserAddRequest = shape("UserAddRequest", {
  name: nonEmptyStr("1–64 of A-Z a-z 0-9 _ -; names the user's reply inboxes (_reply.<name>.<clientId>)"),
  grants: grants("what the user may do"),
});

/** `user.add` and `user.rotate` response: the token, shown this once (the cluster keeps only its SHA-256). */
export const UserTokenResponse = shape("UserTokenResponse", {
  name: nonEmptyStr("the user"),
  token: nonEmptyStr("rbu1.<name>.<secret>: pass it to connect({ token }) or raftbus --token"),
  grants: grants("the user's grants"),
});

/** `user.rotate`: a new token; the old one stops working at once. */
export const UserRotateRequest = shape("UserRotateRequest", { name: nonEmptyStr("the user") });

/** `user.grant`: replace a user's grants (its token stays). */
export const UserGrantRequest = shape("UserGrantRequest", { name: nonEmptyStr("the user"), grants: grants("the new grants, replacing the old") });

/** `user.remove`: delete a user; its token stops working and its connections are closed. */
export const UserRemoveRequest = shape("UserRemoveRequest", { name: nonEmptyStr("the user") });

/** One user as `user.list` shows it (never a token or its hash). */
export const UserSummary = shape("UserSummary", {
  name: nonEmptyStr("the user"),
  grants: grants("its grants"),
  createdAt: nat("log time of its creation (ms since epoch)"),
  updatedAt: nat("log time of its last change: rotation or grants"),
});

/** `user.list` response. */
export const UserListResponse = shape("UserListResponse", {
  users: arr(UserSummary, "every user, by name", USERS_LIST_MAX),
  admin: opt(nonEmptyStr("the name of the configured admin (node config, not a replicated user)")),
});

/** `user.remove` / `user.grant` response. */
export const UserNameResponse = shape("UserNameResponse", { name: nonEmptyStr("the user") });

/** The request kinds of this group (all served by the leader, whose state is the latest). */
export const userKinds = {
  "user.add": { request: UserAddRequest, response: UserTokenResponse, servedBy: "leader" },
  "user.rotate": { request: UserRotateRequest, response: UserTokenResponse, servedBy: "leader" },
  "user.grant": { request: UserGrantRequest, response: UserNameResponse, servedBy: "leader" },
  "user.remove": { request: UserRemoveRequest, response: UserNameResponse, servedBy: "leader" },
  "user.list": { request: Empty, response: UserListResponse, servedBy: "leader" },
} as const;

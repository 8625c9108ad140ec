/**
 * The configured admin (issue 13: "the first admin comes from the node
 * config"): a token from `adminToken` (RAFTBUS_ADMIN_TOKEN), from the file
 * `adminTokenFile`, or — when neither is given — from `<dataDir>/admin.token`,
 * which the node writes on its first start with a fresh random token
 * (mode 0600) and names in its log. The node keeps only the token's
 * SHA-256; the configured admin holds every permission and is not a
 * replicated user, so it works before `cluster finalize-upgrade` and cannot
 * be locked out by a mistaken `user remove`. Give every node the same token
 * (or file) so the admin is accepted cluster-wide.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { generateToken, hashToken } from "../../auth/tokens.ts";
import { ConfigError } from "../config.ts";
import type { NodeConfig } from "../config.ts";
import { ADMIN_TOKEN_CHARS_MIN } from "./auth-config.ts";

/** The name the configured admin acts under (reserved: no replicated user may take it). */
export const ADMIN_USER = "admin";

/** File name of the generated admin token in the data directory. */
export const ADMIN_TOKEN_FILE_NAME = "admin.token";

/** The configured admin's token hash, and where it came from (for the start-up log). */
export interface AdminCredential {
  readonly tokenHash: Uint8Array;
  readonly source: string;
  /** True when this start generated the token file. */
  readonly generated: boolean;
}

/**
 * Reads (or, the first time, writes) the configured admin's token; undefined
 * with `auth: open`. @throws ConfigError for an unreadable or too short token.
 */
export function resolveAdminCredential(c: Pick<NodeConfig, "auth" | "adminToken" | "adminTokenFile" | "dataDir">): AdminCredential | undefined {
  if (c.auth === "open") return undefined;
  if (c.adminToken !== "") return { tokenHash: hashToken(c.adminToken), source: "adminToken", generated: false };
  const file = c.adminTokenFile !== "" ? c.adminTokenFile : join(c.dataDir, ADMIN_TOKEN_FILE_NAME);
  let generated = false;
  if (c.adminTokenFile === "" && !existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${generateToken(ADMIN_USER)}\n`, { mode: 0o600, flag: "wx" });
    chmodSync(file, 0o600);
    generated = true;
  }
  let token: string;
  try {
    token = readAdminTokenFile(file);
  } catch (err) {
    throw new ConfigError([`adminTokenFile: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`]);
  }
  if (token.length < ADMIN_TOKEN_CHARS_MIN) throw new ConfigError([`adminTokenFile: ${file} holds a token shorter than ${ADMIN_TOKEN_CHARS_MIN} characters`]);
  return { tokenHash: hashToken(token), source: file, generated };
}

/** The token in a token or credentials file: its first non-empty line, trimmed. */
export function readAdminTokenFile(file: string): string {
  const line = readFileSync(file, "utf8").split(/\r?\n/).map((l) => l.trim()).find((l) => l.length > 0 && !l.startsWith("#"));
  return line ?? "";
}

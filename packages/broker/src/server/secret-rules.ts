/**
 * Which cluster secrets a node accepts (issue 13, peers). The cluster
 * secret is what a peer proves to join the Raft conversation: anyone who
 * knows it can append entries. So:
 *
 * - a secret shorter than {@link CLUSTER_SECRET_MIN_CHARS} is refused;
 * - a known placeholder (the `.env.example` value, "change me" variants) is
 *   refused everywhere: it is public, so it protects nothing;
 * - the built-in development secret ({@link DEV_CLUSTER_SECRET}, used when
 *   none is configured) is accepted only while the node listens on loopback,
 *   where only this machine's processes can reach the peer port (the
 *   transport also refuses browser pages: peer upgrades carrying an Origin).
 */

import { isLoopbackHost } from "./auth/auth-config.ts";

/** Development secret used when none is configured: loopback only (logged as a warning). */
export const DEV_CLUSTER_SECRET = "raftbus-dev-secret-change-me";

/** Shortest cluster secret accepted, in characters. */
export const CLUSTER_SECRET_MIN_CHARS = 16;

/**
 * Placeholders published in this repository's examples (docker/.env.example,
 * docs). Kept exact: a value copied from the docs must never start a node.
 */
export const PLACEHOLDER_SECRETS: readonly string[] = [
  "change-me-to-a-long-random-string",
  "change-me",
  "changeme",
  "replace-me",
  "secret",
];

/** Words that mark a secret as a placeholder someone forgot to replace. */
const PLACEHOLDER_WORDS = /change[-_ ]?me|replace[-_ ]?me|your[-_ ]?secret|example[-_ ]?secret/i;

/**
 * Why `secret` (the setting `key`) cannot be used by a node listening on
 * `host`, or undefined when it can. The message says what to do instead.
 */
export function secretProblem(key: string, secret: string, host: string): string | undefined {
  const generate = "generate one with `openssl rand -base64 32` and set it on every node (RAFTBUS_CLUSTER_SECRET)";
  if (secret === DEV_CLUSTER_SECRET) {
    if (isLoopbackHost(host)) return undefined;
    return `${key}: the built-in development secret is refused when the node listens beyond loopback (host ${host}): anyone who reads the source could join the cluster; ${generate}`;
  }
  if (PLACEHOLDER_SECRETS.includes(secret.trim().toLowerCase()) || PLACEHOLDER_WORDS.test(secret)) {
    return `${key}: "${secret}" is a placeholder, not a secret; ${generate}`;
  }
  if (secret.length < CLUSTER_SECRET_MIN_CHARS) {
    return `${key}: must be at least ${CLUSTER_SECRET_MIN_CHARS} characters (got ${secret.length}); ${generate}`;
  }
  return undefined;
}

/**
 * The node's client-authentication settings (issue 13 parts 1 and 3), kept
 * apart from config.ts like the limits: which mode, where the configured
 * admin's token comes from, and which browser origins may open a WebSocket.
 */

/** How clients authenticate: `token` (the default) or `open` (development only, loopback only). */
export const AUTH_MODES = ["token", "open"] as const;

/** An authentication mode. */
export type AuthMode = (typeof AUTH_MODES)[number];

/** The authentication keys of the node config. */
export interface AuthConfig {
  /** `token`: every client presents a token at hello; `open`: anyone may do anything (refused beyond loopback). */
  readonly auth: AuthMode;
  /** The configured admin's token itself (RAFTBUS_ADMIN_TOKEN); "" when not given. The node keeps only its hash. */
  readonly adminToken: string;
  /** A file holding the configured admin's token; "" for `<dataDir>/admin.token`, made on first start. */
  readonly adminTokenFile: string;
  /**
   * Browser origins allowed to open a WebSocket, comma-separated
   * (`https://dash.example:8443,…`), or `*` for any; "" for the default: the
   * cluster members' own client addresses (the dashboard they serve).
   */
  readonly allowedOrigins: string;
}

/** Defaults. */
export const AUTH_DEFAULTS: AuthConfig = { auth: "token", adminToken: "", adminTokenFile: "", allowedOrigins: "" };

/** How each key is parsed (config.ts's field kinds). */
export const AUTH_FIELDS = { auth: "string", adminToken: "string", adminTokenFile: "string", allowedOrigins: "string" } as const satisfies Record<keyof AuthConfig, "string">;

/** Shortest configured admin token: it is typed by a person and may be weaker than a generated one. */
export const ADMIN_TOKEN_CHARS_MIN = 16;

/** True for an address that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The origins of an `allowedOrigins` value ("*" stays "*"). */
export function parseOrigins(text: string): string[] {
  return text.split(",").map((s) => s.trim().replace(/\/+$/, "").toLowerCase()).filter((s) => s.length > 0);
}

/** Adds a problem for every authentication setting that is wrong. */
export function validateAuth(c: AuthConfig & { readonly host: string }, problems: string[]): void {
  if (!(AUTH_MODES as readonly string[]).includes(c.auth)) problems.push(`auth: must be one of ${AUTH_MODES.join(", ")} (got ${JSON.stringify(c.auth)})`);
  if (c.auth === "open" && !isLoopbackHost(c.host)) {
    problems.push(`auth: open (no authentication) is for development on this machine only, and this node listens on ${c.host}; use auth token (the default), or host 127.0.0.1`);
  }
  if (c.adminToken !== "" && c.adminToken.length < ADMIN_TOKEN_CHARS_MIN) problems.push(`adminToken: must be at least ${ADMIN_TOKEN_CHARS_MIN} characters`);
  if (c.adminToken !== "" && c.adminTokenFile !== "") problems.push("adminToken and adminTokenFile: give one, not both");
  for (const o of parseOrigins(c.allowedOrigins)) {
    if (o !== "*" && !/^https?:\/\/[^/\s]+$/.test(o)) problems.push(`allowedOrigins: "${o}" is not an origin like https://host:port (or *)`);
  }
}

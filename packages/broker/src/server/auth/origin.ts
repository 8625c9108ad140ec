/**
 * The WebSocket Origin check (issue 13 part 3; NATS's `allowed_origins`).
 * A browser says which page opened a WebSocket in the `Origin` header and a
 * page cannot forge it, so a page from elsewhere on the network is refused
 * (HTTP 403) before the upgrade: it never reaches hello, and never gets to
 * try tokens a browser might hold. Clients that are not browsers send no
 * Origin and are not affected.
 *
 * Allowed by default: the cluster members' own client addresses as http and
 * https origins — the dashboard each node serves, which connects to every
 * member — and, for a member on a loopback address, the same port under
 * `localhost`, `127.0.0.1` and `[::1]`. `allowedOrigins` replaces the
 * default with a list, or `*` for any origin.
 */
import { isLoopbackHost, parseOrigins } from "./auth-config.ts";

/** A member's client endpoint. */
export interface Endpoint {
  readonly host: string;
  readonly clientPort: number;
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];

/** See the module comment. */
export class OriginPolicy {
  private readonly configured: readonly string[] | undefined;

  /** `allowedOrigins` as configured; `members` lists the cluster's client endpoints as this node knows them now. */
  constructor(allowedOrigins: string, private readonly members: () => Iterable<Endpoint>) {
    const list = parseOrigins(allowedOrigins);
    this.configured = list.length === 0 ? undefined : list;
  }

  /** True when a WebSocket with this Origin header (undefined: none) may be opened. */
  allows(origin: string | undefined): boolean {
    if (origin === undefined) return true;
    const o = origin.trim().toLowerCase();
    if (this.configured !== undefined) return this.configured.includes("*") || this.configured.includes(o);
    for (const m of this.members()) {
      const hosts = isLoopbackHost(m.host) ? [m.host, ...LOOPBACK_NAMES] : [m.host];
      for (const h of hosts) {
        const host = h.includes(":") && !h.startsWith("[") ? `[${h}]` : h;
        if (o === `http://${host}:${m.clientPort}`.toLowerCase() || o === `https://${host}:${m.clientPort}`.toLowerCase()) return true;
      }
    }
    return false;
  }
}

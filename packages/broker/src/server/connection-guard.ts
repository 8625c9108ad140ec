/**
 * How many connections the client port holds, in total and per IP address
 * (NATS's max_connections; issue 13 item 5). Two layers:
 *
 * - sessions (WebSocket clients): beyond connectionsMax or
 *   connectionsPerAddressMax a new client is answered `refused` with
 *   LIMIT_EXCEEDED naming the limit, so an SDK says why;
 * - sockets (anything TCP, before HTTP is even parsed): a margin above the
 *   session limits (for /healthz, /metrics and the refusals themselves);
 *   beyond it the socket is dropped at once, so idle raw sockets cannot
 *   exhaust the node's file descriptors either.
 */
import type { ErrorInfo } from "@raftbus/client/protocol";
import type { LimitsConfig } from "./limits-config.ts";
import { limitExceeded } from "./session.ts";

/** Sockets allowed above the session limits, for HTTP requests and refusals. */
export const SOCKET_MARGIN = 32;

/** Counts sessions and sockets per address. */
export class ConnectionGuard {
  private sessions = 0;
  private sockets = 0;
  private readonly sessionsByAddress = new Map<string, number>();
  private readonly socketsByAddress = new Map<string, number>();

  constructor(private readonly limits: Pick<LimitsConfig, "connectionsMax" | "connectionsPerAddressMax">) {}

  /** A TCP connection arrived: false when it must be dropped; otherwise call releaseSocket when it closes. */
  admitSocket(address: string): boolean {
    const mine = this.socketsByAddress.get(address) ?? 0;
    if (this.sockets >= this.limits.connectionsMax + SOCKET_MARGIN || mine >= this.limits.connectionsPerAddressMax + SOCKET_MARGIN) return false;
    this.sockets++;
    this.socketsByAddress.set(address, mine + 1);
    return true;
  }

  releaseSocket(address: string): void {
    this.sockets--;
    decrement(this.socketsByAddress, address);
  }

  /** A WebSocket client wants a session: the refusal, or undefined (then call releaseSession when it ends). */
  admitSession(address: string): ErrorInfo | undefined {
    if (this.sessions >= this.limits.connectionsMax) {
      return limitExceeded("connectionsMax", this.limits.connectionsMax, "one more client connection on this node");
    }
    const mine = this.sessionsByAddress.get(address) ?? 0;
    if (mine >= this.limits.connectionsPerAddressMax) {
      return limitExceeded("connectionsPerAddressMax", this.limits.connectionsPerAddressMax, `one more client connection from ${address}`);
    }
    this.sessions++;
    this.sessionsByAddress.set(address, mine + 1);
    return undefined;
  }

  releaseSession(address: string): void {
    this.sessions--;
    decrement(this.sessionsByAddress, address);
  }

  /** Sessions now held (for status and tests). */
  get sessionCount(): number {
    return this.sessions;
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 0) - 1;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}

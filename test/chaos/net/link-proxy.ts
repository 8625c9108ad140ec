/**
 * A TCP proxy for Raft peer links that delays, reorders and drops whole
 * WebSocket messages according to the current {@link LinkFaults}. Faults
 * are looked up for every unit, so a change applies to open connections at
 * once (as a network change would). A blocked direction drops everything,
 * pings included, so the transport notices the partition the way it would
 * on a real network: by its own timeouts.
 *
 * A connection whose dialer the listener cannot tell is identified by the
 * dialer's `hello` (hello.ts): until then only the upgrade head, control
 * frames and the acceptor's challenge pass, unfaulted; the hello and
 * everything after it are subject to the link's faults.
 */
import { connect, type Socket } from "node:net";
import { SeededRand } from "@raftbus/raft";
import { helloSender } from "./hello.ts";
import { type LinkFault, type LinkFaults, linkKey } from "./link-fault.ts";
import { type WsUnit, WsUnitSplitter } from "./ws-units.ts";

/** Bytes a delayed direction may hold; beyond it units are dropped (a full router queue). */
const QUEUED_BYTES_MAX = 16 * 1024 * 1024;

/** Counters of one proxy. */
export interface LinkProxyStats {
  connections: number;
  forwarded: number;
  dropped: number;
  overflowed: number;
}

/** Proxies peer connections into one node, applying link faults per direction. */
export class LinkProxy {
  faults: LinkFaults = {};
  readonly stats: LinkProxyStats = { connections: 0, forwarded: 0, dropped: 0, overflowed: 0 };
  private readonly rand: SeededRand;
  private readonly sockets = new Set<Socket>();

  constructor(seed: number) {
    this.rand = new SeededRand(seed);
  }

  /** Proxy an accepted connection from `dialer` (undefined: read it from the hello) into `self`, whose peer port is `target`. */
  handle(client: Socket, dialer: string | undefined, self: string, target: { host: string; port: number }): void {
    this.stats.connections++;
    const server = connect(target.port, target.host);
    this.track(client);
    this.track(server);
    const closeBoth = () => {
      client.destroy();
      server.destroy();
    };
    client.on("error", closeBoth);
    server.on("error", closeBoth);
    client.on("close", closeBoth);
    server.on("close", closeBoth);
    const link = { dialer };
    this.pump(client, server, () => (link.dialer === undefined ? undefined : linkKey(link.dialer, self)), (unit) => {
      if (link.dialer !== undefined || unit.kind !== "data") return true;
      link.dialer = helloSender(unit);
      return link.dialer !== undefined;
    });
    this.pump(server, client, () => (link.dialer === undefined ? undefined : linkKey(self, link.dialer)));
  }

  /** Close every proxied connection. */
  closeAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.on("close", () => this.sockets.delete(s));
  }

  /**
   * Forward `from` → `to` unit by unit under the faults of link `key()` (none
   * while it is unknown). `identify`, on the dialer's side, sees each unit
   * first and returns false for a first data message that is not a hello:
   * the connection is closed.
   */
  private pump(from: Socket, to: Socket, key: () => string | undefined, identify?: (unit: WsUnit) => boolean): void {
    const splitter = new WsUnitSplitter();
    let lastEmitAt = 0;
    let queuedBytes = 0;
    // Units that keep their order wait in one FIFO behind one timer: separate
    // timers with equal deadlines may fire in any order.
    const fifo: { at: number; bytes: Buffer }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const emit = (bytes: Buffer): void => {
      queuedBytes -= bytes.length;
      if (to.destroyed) return;
      this.stats.forwarded++;
      to.write(bytes);
    };
    const drain = (): void => {
      timer = undefined;
      const now = Date.now();
      while (fifo.length > 0 && fifo[0]!.at <= now) emit(fifo.shift()!.bytes);
      if (fifo.length > 0) timer = setTimeout(drain, fifo[0]!.at - now);
    };
    from.on("data", (chunk: Buffer) => {
      let units: WsUnit[];
      try {
        units = splitter.push(chunk);
      } catch {
        from.destroy();
        return;
      }
      const now = Date.now();
      for (const u of units) {
        if (identify !== undefined && !identify(u)) {
          from.destroy();
          return;
        }
        const k = key();
        const f: LinkFault = k === undefined ? {} : this.faults[k] ?? {};
        if (f.blocked === true || (u.kind === "data" && (f.lossRate ?? 0) > 0 && this.rand.chance(f.lossRate ?? 0))) {
          this.stats.dropped++;
          continue;
        }
        const delay = (f.delayMs ?? 0) + ((f.jitterMs ?? 0) > 0 ? this.rand.float() * (f.jitterMs ?? 0) : 0);
        if (delay <= 0 && fifo.length === 0) {
          this.stats.forwarded++;
          to.write(u.bytes);
          continue;
        }
        if (queuedBytes + u.bytes.length > QUEUED_BYTES_MAX) {
          this.stats.overflowed++;
          continue;
        }
        queuedBytes += u.bytes.length;
        if (f.reorder === true && u.kind === "data") {
          // Only data messages may overtake; the head and control frames keep their place.
          setTimeout(() => emit(u.bytes), delay);
          continue;
        }
        const at = Math.max(now + delay, lastEmitAt);
        lastEmitAt = at;
        fifo.push({ at, bytes: u.bytes });
        timer ??= setTimeout(drain, at - now);
      }
    });
  }
}

/**
 * The fallback fault layer (see fault-layer.ts): everything on loopback.
 * Each node binds 127.0.0.1; its sidecar listens on the node's own
 * loopback address 127.0.1.K (Linux routes all of 127/8 to lo) on the same
 * port numbers: the peer port through the fault proxy, the client port as a
 * plain relay. Every node's `--peers` names those addresses, so all nodes
 * share one view of where each member listens, and the replicated address
 * book (cluster version 2), which outranks each node's peer list, records
 * the same addresses: the proxies stay on every path. (An earlier design
 * gave each directed dial its own proxy port, so the lists differed; once
 * the first leader recorded its own list in the book, nodes redialed its
 * addresses and some links bypassed the proxies — a leader "isolated" for
 * 4 s kept leading, CI 16:43.) All dials come from 127.0.0.1, so the proxy
 * tells dialers apart by their hello (hello.ts).
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { createServer } from "node:net";
import WebSocket from "ws";
import type { WebSocketFactory, WebSocketLike } from "@raftbus/client";
import type { Registry } from "../support/registry.ts";
import type { FaultLayer, HttpAnswer, NodeNet } from "./fault-layer.ts";
import { type Cuts, type LinkFaults, cutsAsFaults } from "./link-fault.ts";
import { SidecarProcess } from "./sidecar-process.ts";

const HOST = "127.0.0.1";

/** The loopback address node number `k` (0-based) is advertised at. */
function frontHost(k: number): string {
  return `127.0.1.${k + 1}`;
}

/** A free TCP port on 127.0.0.1 (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, HOST, () => {
      const addr = s.address();
      s.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** Nodes and link proxies on loopback. */
export class LoopbackLayer implements FaultLayer {
  readonly kind = "loopback";
  private readonly sidecars = new Map<string, SidecarProcess>();

  private constructor(
    readonly ids: readonly string[],
    private readonly registry: Registry,
    private readonly ports: ReadonlyMap<string, { peer: number; client: number }>,
  ) {}

  /** Pick ports and start the sidecars. */
  static async create(ids: readonly string[], registry: Registry, seed: number, logFd: number): Promise<LoopbackLayer> {
    const ports = new Map<string, { peer: number; client: number }>();
    for (const id of ids) ports.set(id, { peer: await freePort(), client: await freePort() });
    const layer = new LoopbackLayer(ids, registry, ports);
    // Started together: each is a Node process, slow to start on a busy machine.
    await Promise.all(ids.map(async (id, i) => {
      const { peer, client } = ports.get(id)!;
      layer.sidecars.set(id, await SidecarProcess.start(registry, {
        node: id, seed: seed + i, peerTarget: { host: HOST, port: peer },
        listeners: [{ host: frontHost(i), port: peer, byHello: true }],
        clientTcpRelay: { listen: { host: frontHost(i), port: client }, host: HOST, port: client },
      }, [], logFd));
    }));
    return layer;
  }

  private port(id: string): { peer: number; client: number } {
    const p = this.ports.get(id);
    if (p === undefined) throw new Error(`unknown node ${id}`);
    return p;
  }

  private front(id: string): string {
    return frontHost(this.ids.indexOf(id));
  }

  net(id: string): NodeNet {
    const self = this.port(id);
    const peers = this.ids.map((p) => `${p}=${this.front(p)}:${this.port(p).peer}:${this.port(p).client}`);
    return { id, bindHost: HOST, peerPort: self.peer, clientPort: self.client, peers: peers.join(",") };
  }

  readdAddress(id: string): { peerAddress: string; clientAddress: string } {
    const p = this.port(id);
    return { peerAddress: `${this.front(id)}:${p.peer}`, clientAddress: `ws://${this.front(id)}:${p.client}` };
  }

  spawn(_id: string, command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
    return this.registry.process(spawn(command, args, options));
  }

  /** The SDK dials the nodes directly: an advertised 127.0.1.K address maps to 127.0.0.1 (client ports are unique). */
  readonly webSocketFactory: WebSocketFactory = (url) =>
    new WebSocket(url.replace(/^(wss?:\/\/)127\.0\.1\.\d+:/, `$1${HOST}:`), { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 }) as unknown as WebSocketLike;

  async http(id: string, path: string, timeoutMs: number): Promise<HttpAnswer> {
    try {
      const r = await fetch(`http://${HOST}:${this.port(id).client}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
      return { status: r.status, body: await r.text() };
    } catch {
      return { status: 0, body: "" };
    }
  }

  async setFaults(cuts: Cuts, faults: LinkFaults): Promise<void> {
    const all = cutsAsFaults(cuts, faults);
    await Promise.all([...this.sidecars.values()].map((s) => s.setFaults(all)));
  }

  async proxyStats(): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [id, s] of this.sidecars) out[id] = await s.stats();
    return out;
  }

  async close(): Promise<void> {
    for (const s of this.sidecars.values()) s.stop();
  }
}

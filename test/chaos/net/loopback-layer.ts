/**
 * The fallback fault layer (see fault-layer.ts): every node on 127.0.0.1
 * with free ports, and one proxy listener per directed dial (the node with
 * the smaller id dials), so the proxy knows the link from the port alone.
 * Each node gets its own `--peers`, naming the proxies it must dial.
 * Partitions are blocked links in the proxies.
 *
 * Limitation: a re-added node's address is replicated to every member, so
 * it can be re-added only if at most one member dials it (the two nodes
 * with the smallest ids); {@link LoopbackLayer.readdAddress} says so.
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
    /** Listener port of the dial `from` → `to` (from < to). */
    private readonly links: ReadonlyMap<string, number>,
  ) {}

  /** Pick ports and start the sidecars. */
  static async create(ids: readonly string[], registry: Registry, seed: number, logFd: number): Promise<LoopbackLayer> {
    const ports = new Map<string, { peer: number; client: number }>();
    const links = new Map<string, number>();
    for (const id of ids) ports.set(id, { peer: await freePort(), client: await freePort() });
    for (const a of ids) for (const b of ids) if (a < b) links.set(`${a}>${b}`, await freePort());
    const layer = new LoopbackLayer(ids, registry, ports, links);
    // Started together: each is a Node process, slow to start on a busy machine.
    await Promise.all(ids.map(async (id, i) => {
      const listeners = ids.filter((d) => d < id).map((d) => ({ host: HOST, port: links.get(`${d}>${id}`)!, dialer: d }));
      layer.sidecars.set(id, await SidecarProcess.start(registry, {
        node: id, seed: seed + i, peerTarget: { host: HOST, port: ports.get(id)!.peer }, listeners,
      }, [], logFd));
    }));
    return layer;
  }

  private port(id: string): { peer: number; client: number } {
    const p = this.ports.get(id);
    if (p === undefined) throw new Error(`unknown node ${id}`);
    return p;
  }

  net(id: string): NodeNet {
    const self = this.port(id);
    const peers = this.ids.map((p) => {
      const dialPort = p === id || p < id ? this.port(p).peer : this.links.get(`${id}>${p}`)!;
      return `${p}=${HOST}:${dialPort}:${this.port(p).client}`;
    });
    return { id, bindHost: HOST, peerPort: self.peer, clientPort: self.client, peers: peers.join(",") };
  }

  readdAddress(id: string): { peerAddress: string; clientAddress: string } | undefined {
    const dialers = this.ids.filter((d) => d < id);
    if (dialers.length > 1) return undefined;
    const port = dialers.length === 0 ? this.port(id).peer : this.links.get(`${dialers[0]}>${id}`)!;
    return { peerAddress: `${HOST}:${port}`, clientAddress: `ws://${HOST}:${this.port(id).client}` };
  }

  spawn(_id: string, command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
    return this.registry.process(spawn(command, args, options));
  }

  readonly webSocketFactory: WebSocketFactory = (url) =>
    new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 }) as unknown as WebSocketLike;

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

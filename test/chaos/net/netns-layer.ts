/**
 * The namespace fault layer (see fault-layer.ts). Topology of a run with
 * prefix P:
 *
 *   netns P-br:  bridge br0, ports v1..vN (one veth end per node)
 *   netns P-nK:  lo, eth0 = 10.99.0.(10+K)/24; the node binds 127.0.0.1
 *                (peer 7101, client 7001); its sidecar listens on
 *                eth0:7101 and forwards to the node, and relays a Unix
 *                socket to the client port
 *
 * Every node dials its peers at 10.99.0.(10+K):7101 (the sidecar), which
 * tells dialers apart by source address, so all nodes share one `--peers`
 * and a re-added node's replicated address works for everyone. Partitions
 * are nft drop rules on both ends of a cut. Namespaces are private, so the
 * fixed subnet and ports cannot collide with the host or other runs.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { request } from "node:http";
import { join } from "node:path";
import WebSocket from "ws";
import type { WebSocketFactory, WebSocketLike } from "@raftbus/client";
import { type Registry, sh } from "../support/registry.ts";
import type { FaultLayer, HttpAnswer, NodeNet } from "./fault-layer.ts";
import { type Cuts, type LinkFaults } from "./link-fault.ts";
import { SidecarProcess } from "./sidecar-process.ts";

const PEER_PORT = 7101;
const CLIENT_PORT = 7001;
const SUBNET = "10.99.0";

/** Can this process create network namespaces and nft rules? (root, `ip`, `nft`, kernel support) */
export function netnsAvailable(registry: Registry): { ok: boolean; reason: string } {
  const ns = `${registry.prefix}probe`;
  try {
    sh("ip", ["netns", "add", ns]);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  try {
    sh("ip", ["netns", "exec", ns, "nft", "add", "table", "inet", "rbc"]);
    return { ok: true, reason: "" };
  } catch (err) {
    return { ok: false, reason: `nft: ${(err as Error).message}` };
  } finally {
    sh("ip", ["netns", "del", ns]);
  }
}

/** Nodes in namespaces on a private bridge. */
export class NetnsLayer implements FaultLayer {
  readonly kind = "netns";
  private readonly sidecars = new Map<string, SidecarProcess>();
  private readonly ips = new Map<string, string>();

  private constructor(
    readonly ids: readonly string[],
    private readonly registry: Registry,
    private readonly sockDir: string,
  ) {
    ids.forEach((id, i) => this.ips.set(id, `${SUBNET}.${11 + i}`));
  }

  /** Build the namespaces, bridge and sidecars. */
  static async create(ids: readonly string[], registry: Registry, sockDir: string, seed: number, logFd: number): Promise<NetnsLayer> {
    const layer = new NetnsLayer(ids, registry, sockDir);
    const br = `${registry.prefix}br`;
    registry.netns(br);
    sh("ip", ["netns", "add", br]);
    const batch = [`link add br0 type bridge`, `link set br0 up`, `link set lo up`];
    for (const [i, id] of ids.entries()) {
      const ns = layer.ns(id);
      registry.netns(ns);
      sh("ip", ["netns", "add", ns]);
      batch.push(`link add v${i + 1} type veth peer name eth0 netns ${ns}`, `link set v${i + 1} master br0`, `link set v${i + 1} up`);
    }
    sh("ip", ["-n", br, "-batch", "-"], batch.join("\n") + "\n");
    const sourceIps = Object.fromEntries(ids.map((id) => [layer.ip(id), id]));
    for (const id of ids) {
      sh("ip", ["-n", layer.ns(id), "-batch", "-"], `link set lo up\naddr add ${layer.ip(id)}/24 dev eth0\nlink set eth0 up\n`);
      layer.applyNft(id, []);
    }
    // Started together: each is a Node process, slow to start on a busy machine.
    await Promise.all(ids.map(async (id) => {
      const ns = layer.ns(id);
      layer.sidecars.set(id, await SidecarProcess.start(registry, {
        node: id, seed: seed + ids.indexOf(id), peerTarget: { host: "127.0.0.1", port: PEER_PORT },
        listeners: [{ host: layer.ip(id), port: PEER_PORT }], sourceIps,
        clientRelay: { socketPath: layer.sock(id), host: "127.0.0.1", port: CLIENT_PORT },
      }, ["ip", "netns", "exec", ns], logFd));
    }));
    return layer;
  }

  private ns(id: string): string {
    return `${this.registry.prefix}${id}`;
  }

  private ip(id: string): string {
    const ip = this.ips.get(id);
    if (ip === undefined) throw new Error(`unknown node ${id}`);
    return ip;
  }

  private sock(id: string): string {
    return join(this.sockDir, `${id}.sock`);
  }

  net(id: string): NodeNet {
    return {
      id, bindHost: "127.0.0.1", peerPort: PEER_PORT, clientPort: CLIENT_PORT,
      peers: this.ids.map((p) => `${p}=${this.ip(p)}:${PEER_PORT}:${CLIENT_PORT}`).join(","),
    };
  }

  readdAddress(id: string): { peerAddress: string; clientAddress: string } {
    return { peerAddress: `${this.ip(id)}:${PEER_PORT}`, clientAddress: `ws://${this.ip(id)}:${CLIENT_PORT}` };
  }

  spawn(id: string, command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
    return this.registry.process(spawn("ip", ["netns", "exec", this.ns(id), command, ...args], options));
  }

  readonly webSocketFactory: WebSocketFactory = (url) => {
    const u = new URL(url);
    const id = [...this.ips].find(([, ip]) => ip === u.hostname)?.[0];
    if (id === undefined) throw new Error(`no node at ${url}`);
    return new WebSocket(`ws+unix:${this.sock(id)}:/`, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 }) as unknown as WebSocketLike;
  };

  http(id: string, path: string, timeoutMs: number): Promise<HttpAnswer> {
    return new Promise((resolve) => {
      const req = request({ socketPath: this.sock(id), path, timeout: timeoutMs }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", () => resolve({ status: 0, body: "" }));
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve({ status: 0, body: "" }));
      req.end();
    });
  }

  async setFaults(cuts: Cuts, faults: LinkFaults): Promise<void> {
    for (const id of this.ids) {
      const blocked = cuts.flatMap(([a, b]) => (a === id ? [this.ip(b)] : b === id ? [this.ip(a)] : []));
      this.applyNft(id, blocked);
    }
    await Promise.all([...this.sidecars.values()].map((s) => s.setFaults(faults)));
  }

  /** Replace node `id`'s rules: drop everything to and from `blocked`. */
  private applyNft(id: string, blocked: readonly string[]): void {
    const set = blocked.length === 0 ? "" : `{ ${[...new Set(blocked)].join(", ")} }`;
    const rules = [
      "table inet rbc {}", "delete table inet rbc", "table inet rbc {",
      "  chain input { type filter hook input priority 0; policy accept;",
      ...(set ? [`    ip saddr ${set} drop`] : []), "  }",
      "  chain output { type filter hook output priority 0; policy accept;",
      ...(set ? [`    ip daddr ${set} drop`] : []), "  }", "}",
    ];
    sh("ip", ["netns", "exec", this.ns(id), "nft", "-f", "-"], rules.join("\n") + "\n");
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

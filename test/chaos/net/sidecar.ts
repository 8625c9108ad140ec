/**
 * The per-node sidecar process of the fault layers. It runs beside one node
 * (inside the node's network namespace when there is one) and
 *
 * - proxies the peer connections dialed into the node through a
 *   {@link LinkProxy}, so delay, loss and reordering apply per link;
 * - optionally relays a Unix socket to the node's client port, which is how
 *   the runner reaches a node inside a namespace without touching the
 *   host's network configuration (Unix sockets are not namespaced).
 *
 * Control: one JSON line per command on stdin (`{"seq":1,"faults":{…}}`),
 * answered with `ok <seq>` on stdout once applied. It prints `ready` when
 * listening and exits when stdin closes, so it never outlives its runner.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import { createInterface } from "node:readline";
import { isLinkFaults } from "./link-fault.ts";
import { LinkProxy } from "./link-proxy.ts";

/** Where the sidecar listens and what it forwards to (argv[2], JSON). */
export interface SidecarConfig {
  readonly node: string;
  readonly seed: number;
  /** The node's real peer listener. */
  readonly peerTarget: { readonly host: string; readonly port: number };
  /**
   * Peer listeners; `dialer` names who uses it, else the source IP tells
   * (`sourceIps`), else (`byHello`) the dialer's hello frame (hello.ts).
   */
  readonly listeners: readonly { readonly host: string; readonly port: number; readonly dialer?: string; readonly byHello?: boolean }[];
  readonly sourceIps?: Readonly<Record<string, string>>;
  /** Relay this Unix socket to the node's client port. */
  readonly clientRelay?: { readonly socketPath: string; readonly host: string; readonly port: number };
  /** Relay this TCP address to the node's client port (the loopback layer's advertised client address). */
  readonly clientTcpRelay?: { readonly listen: { readonly host: string; readonly port: number }; readonly host: string; readonly port: number };
}

function isConfig(v: unknown): v is SidecarConfig {
  const c = v as SidecarConfig;
  return typeof v === "object" && v !== null && typeof c.node === "string" && typeof c.seed === "number" &&
    typeof c.peerTarget?.port === "number" && Array.isArray(c.listeners);
}

function listen(server: Server, where: { host: string; port: number } | string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    if (typeof where === "string") server.listen(where, () => resolve());
    else server.listen(where.port, where.host, () => resolve());
  });
}

function relay(a: Socket, b: Socket): void {
  const close = () => {
    a.destroy();
    b.destroy();
  };
  a.on("error", close).on("close", close);
  b.on("error", close).on("close", close);
  a.pipe(b);
  b.pipe(a);
}

async function main(): Promise<void> {
  const cfg: unknown = JSON.parse(process.argv[2] ?? "null");
  if (!isConfig(cfg)) throw new Error(`sidecar: bad config ${process.argv[2]}`);
  const proxy = new LinkProxy(cfg.seed);
  const servers: Server[] = [];
  for (const l of cfg.listeners) {
    const server = createServer((sock) => {
      const ip = (sock.remoteAddress ?? "").replace(/^::ffff:/, "");
      const dialer = l.dialer ?? cfg.sourceIps?.[ip];
      if (dialer === undefined && l.byHello !== true) {
        sock.destroy();
        return;
      }
      proxy.handle(sock, dialer, cfg.node, cfg.peerTarget);
    });
    await listen(server, l);
    servers.push(server);
  }
  if (cfg.clientRelay !== undefined) {
    const r = cfg.clientRelay;
    const server = createServer((sock) => relay(sock, connect(r.port, r.host)));
    await listen(server, r.socketPath);
    servers.push(server);
  }
  if (cfg.clientTcpRelay !== undefined) {
    const r = cfg.clientTcpRelay;
    const server = createServer((sock) => relay(sock, connect(r.port, r.host)));
    await listen(server, r.listen);
    servers.push(server);
  }
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    const cmd = JSON.parse(line) as { seq?: unknown; faults?: unknown; stats?: unknown };
    if (isLinkFaults(cmd.faults)) proxy.faults = cmd.faults;
    if (cmd.stats === true) process.stdout.write(`stats ${JSON.stringify(proxy.stats)}\n`);
    process.stdout.write(`ok ${String(cmd.seq)}\n`);
  });
  rl.on("close", () => {
    proxy.closeAll();
    for (const s of servers) s.close();
    process.exit(0);
  });
  process.stdout.write("ready\n");
}

main().catch((err: unknown) => {
  process.stderr.write(`sidecar: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});

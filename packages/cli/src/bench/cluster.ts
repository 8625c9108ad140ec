/**
 * The cluster a benchmark runs against: one it starts (three `raftbus node
 * start` processes on 127.0.0.1 with free ports and the defaults `pnpm
 * start` uses, data in a temporary folder, stopped by PID when done) or one
 * that is already running (`--servers`). Either way each node's HTTP
 * endpoint gives its counters (`/metrics`); a started cluster also gives its
 * processes (CPU time and peak RSS from /proc).
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

// bin.ts from the sources (under tsx), bin.js from the build: the same extension as this module.
const BIN = fileURLToPath(new URL(`../bin${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** One node as the benchmark sees it. */
export interface BenchNode {
  readonly id: string;
  /** `ws://host:port` */
  readonly server: string;
  /** `http://host:port` (same port: /metrics, /v1/status, /readyz). */
  readonly http: string;
  /** The process, when this run started it. */
  pid(): number | undefined;
}

/** A cluster to benchmark. */
export interface BenchCluster {
  readonly nodes: readonly BenchNode[];
  /** True when this run started the processes (restart and /proc figures are possible). */
  readonly started: boolean;
  servers(): string[];
  /** Stop every node (SIGTERM, then SIGKILL) and start them again from their data; resolves with ms until all are ready. */
  restart(): Promise<number>;
  /** Stop what this run started and remove its data. */
  close(): Promise<void>;
}

/** A running cluster, reached through its client addresses. */
export function connectedCluster(servers: readonly string[]): BenchCluster {
  const nodes = servers.map((server, i): BenchNode => ({
    id: `node${i + 1}`, server, http: server.replace(/^ws(s?):/, "http$1:").replace(/\/+$/, ""), pid: () => undefined,
  }));
  return {
    nodes, started: false,
    servers: () => [...servers],
    restart: () => Promise.reject(new Error("restart needs a cluster this benchmark started (leave out --servers)")),
    close: async () => undefined,
  };
}

interface Spawned extends BenchNode {
  readonly peerPort: number;
  readonly clientPort: number;
  readonly dataDir: string;
  readonly logFile: string;
  child: ChildProcess | undefined;
}

/** Options of {@link startCluster}. */
export interface StartOptions {
  readonly nodes: number;
  /** Extra `node start` flags (none by default: the benchmark measures what `pnpm start` gives). */
  readonly nodeArgs?: readonly string[];
  /** Node.js flags for the node processes (e.g. --cpu-prof). */
  readonly execArgv?: readonly string[];
  readonly readyTimeoutMs?: number;
  readonly keepData?: boolean;
}

/** Start a local cluster on free ports; resolves once every node is ready. */
export async function startCluster(o: StartOptions): Promise<BenchCluster> {
  const root = mkdtempSync(join(tmpdir(), "raftbus-bench-"));
  const nodes: Spawned[] = [];
  for (let i = 1; i <= o.nodes; i++) {
    const clientPort = await freePort();
    const peerPort = await freePort();
    const node: Spawned = {
      id: `n${i}`, server: `ws://127.0.0.1:${clientPort}`, http: `http://127.0.0.1:${clientPort}`, clientPort, peerPort,
      dataDir: join(root, `n${i}`), logFile: join(root, `n${i}.log`), child: undefined,
      pid: () => node.child?.pid,
    };
    nodes.push(node);
  }
  const peers = nodes.map((n) => `${n.id}=127.0.0.1:${n.peerPort}:${n.clientPort}`).join(",");
  const spawnAll = (): void => {
    for (const n of nodes) {
      const log = openSync(n.logFile, "a");
      const child = spawn(process.execPath, [
        ...(o.execArgv ?? []), ...process.execArgv, BIN, "node", "start", "--id", n.id, "--data-dir", n.dataDir,
        "--client-port", String(n.clientPort), "--peer-port", String(n.peerPort), "--peers", peers, "--log-level", "warn",
        // A throwaway cluster on loopback for measuring: no authentication, as before it existed.
        "--auth", "open", ...(o.nodeArgs ?? []),
      ], { stdio: ["ignore", log, log], env: { ...process.env, RAFTBUS_SERVERS: "" } });
      n.child = child;
      child.on("exit", () => {
        if (n.child === child) n.child = undefined;
      });
    }
  };
  const stopAll = async (): Promise<void> => {
    for (const n of nodes) n.child?.kill("SIGTERM");
    const deadline = Date.now() + 15_000;
    while (nodes.some((n) => n.child !== undefined) && Date.now() < deadline) await sleep(50);
    for (const n of nodes) n.child?.kill("SIGKILL");
    while (nodes.some((n) => n.child !== undefined)) await sleep(20);
  };
  const readyTimeoutMs = o.readyTimeoutMs ?? 60_000;
  spawnAll();
  try {
    await waitReady(nodes, readyTimeoutMs);
  } catch (err) {
    await stopAll();
    if (o.keepData !== true) rmSync(root, { recursive: true, force: true });
    throw err;
  }
  return {
    nodes, started: true,
    servers: () => nodes.map((n) => n.server),
    restart: async () => {
      await stopAll();
      const t0 = performance.now();
      spawnAll();
      await waitReady(nodes, readyTimeoutMs);
      return performance.now() - t0;
    },
    close: async () => {
      await stopAll();
      if (o.keepData !== true) rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Every node answers /readyz 200 (member with a leader, caught up) and one of them leads. */
async function waitReady(nodes: readonly Spawned[], timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (nodes.some((n) => n.child === undefined)) {
      throw new Error(`a node exited while starting; see ${nodes.map((n) => n.logFile).join(", ")}`);
    }
    const ready = await Promise.all(nodes.map(async (n) => {
      try {
        return (await fetch(`${n.http}/readyz`, { signal: AbortSignal.timeout(1000) })).ok;
      } catch {
        return false;
      }
    }));
    if (ready.every(Boolean)) return;
    if (Date.now() > end) throw new Error(`cluster not ready after ${timeoutMs} ms; see ${nodes.map((n) => n.logFile).join(", ")}`);
    await sleep(25);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() => (typeof addr === "object" && addr !== null ? resolve(addr.port) : reject(new Error("no free port"))));
    });
  });
}

/** Sleep `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

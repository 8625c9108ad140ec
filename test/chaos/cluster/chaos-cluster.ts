/**
 * Real raftbus node processes on a {@link FaultLayer}: start, kill -9,
 * SIGTERM, SIGSTOP/SIGCONT, restart on the same data, wall-clock offsets
 * (through clock-shim.ts), status over the layer, and SDK clients that
 * reach every node however the layer routes them. Every process is
 * registered with the run's {@link Registry}.
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync, openSync, closeSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type ConnectOptions, type RaftbusClient } from "@raftbus/client/node";
import { waitFor } from "../../support/local-cluster.ts";
import type { FaultLayer } from "../net/fault-layer.ts";

const BIN = fileURLToPath(new URL("../../../packages/cli/src/bin.ts", import.meta.url));
const CLOCK_SHIM = fileURLToPath(new URL("./clock-shim.ts", import.meta.url));

/** What /v1/status answers (the fields the harness reads). */
export interface NodeStatus {
  readonly nodeId: string;
  readonly role: string;
  readonly term: number;
  readonly leaderId: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly voters: readonly string[];
  readonly learners: readonly string[];
}

/** One node process slot. */
export interface ChaosNode {
  readonly id: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly clockFile: string;
  proc: ChildProcess | undefined;
  paused: boolean;
  /** Exit codes of earlier incarnations that ended on their own (not killed by us). */
  readonly crashes: { at: number; code: number | null; signal: string | null }[];
}

/** Options of a chaos cluster. */
export interface ChaosClusterOptions {
  readonly layer: FaultLayer;
  readonly dir: string;
  readonly tickMs: number;
  readonly electionTicks: number;
  /** Extra environment (e.g. unsafe switches) for every node. */
  readonly env?: Readonly<Record<string, string>>;
  readonly extraArgs?: readonly string[];
}

/** A cluster of node processes under chaos. */
export class ChaosCluster {
  readonly nodes = new Map<string, ChaosNode>();
  private readonly expectedExit = new Set<ChildProcess>();

  constructor(readonly o: ChaosClusterOptions) {
    for (const id of o.layer.ids) {
      const dataDir = join(o.dir, "data", id);
      mkdirSync(dataDir, { recursive: true });
      const clockFile = join(o.dir, `${id}.clock`);
      writeFileSync(clockFile, "0");
      this.nodes.set(id, { id, dataDir, logFile: join(o.dir, `${id}.log`), clockFile, proc: undefined, paused: false, crashes: [] });
    }
  }

  /** Node ids. */
  get ids(): readonly string[] {
    return this.o.layer.ids;
  }

  node(id: string): ChaosNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`unknown node ${id}`);
    return n;
  }

  /** Start every node and wait until all are ready. */
  async start(): Promise<void> {
    for (const id of this.ids) this.startNode(id);
    await this.waitReady(this.ids, 90_000);
  }

  /** (Re)start a node from its data directory. */
  startNode(id: string): void {
    const n = this.node(id);
    if (n.proc !== undefined) return;
    const net = this.o.layer.net(id);
    const log = openSync(n.logFile, "a");
    const args = [
      "--import", "tsx", "--import", CLOCK_SHIM, BIN, "node", "start", "--id", id, "--data-dir", n.dataDir,
      "--host", net.bindHost, "--client-port", String(net.clientPort),
      "--peer-port", String(net.peerPort), "--peers", net.peers, "--cluster-secret", "chaos-cluster-secret-0123456789",
      "--tick-ms", String(this.o.tickMs), "--election-ticks", String(this.o.electionTicks), "--log-level", "info", "--auth", "open",
      ...(this.o.extraArgs ?? []),
    ];
    const proc = this.o.layer.spawn(id, process.execPath, args, {
      stdio: ["ignore", log, log],
      env: { ...process.env, RAFTBUS_SERVERS: "", RAFTBUS_CHAOS_CLOCK_FILE: n.clockFile, ...this.o.env },
    });
    closeSync(log);
    n.proc = proc;
    n.paused = false;
    proc.on("exit", (code, signal) => {
      if (!this.expectedExit.delete(proc)) n.crashes.push({ at: Date.now(), code, signal });
      if (n.proc === proc) n.proc = undefined;
    });
  }

  /** SIGKILL a node (resuming it first is not needed: SIGKILL ends stopped processes too). */
  async kill(id: string): Promise<void> {
    await this.signalAndWait(id, "SIGKILL", 10_000);
  }

  /** SIGTERM a node and wait for its clean exit (SIGKILL after 20 s). */
  async stop(id: string): Promise<void> {
    const n = this.node(id);
    if (n.paused) this.resume(id);
    try {
      await this.signalAndWait(id, "SIGTERM", 20_000);
    } catch {
      await this.kill(id);
    }
  }

  private async signalAndWait(id: string, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
    const n = this.node(id);
    const p = n.proc;
    if (p === undefined) return;
    this.expectedExit.add(p);
    p.kill(signal);
    n.paused = false;
    await waitFor(`${id} to exit on ${signal}`, () => (n.proc !== p ? true : undefined), timeoutMs, 20);
  }

  /** SIGSTOP: the process freezes with its sockets open (a long GC pause, a stalled VM). */
  pause(id: string): void {
    const n = this.node(id);
    if (n.proc === undefined || n.paused) return;
    n.proc.kill("SIGSTOP");
    n.paused = true;
  }

  /** SIGCONT. */
  resume(id: string): void {
    const n = this.node(id);
    if (n.proc === undefined || !n.paused) return;
    n.proc.kill("SIGCONT");
    n.paused = false;
  }

  /** Step node `id`'s wall clock by `offsetMs` relative to real time (the shim re-reads within 100 ms). */
  setClockOffset(id: string, offsetMs: number): void {
    writeFileSync(this.node(id).clockFile, String(Math.round(offsetMs)));
  }

  /** /v1/status of a node, or undefined when unreachable. */
  async status(id: string, timeoutMs = 1000): Promise<NodeStatus | undefined> {
    const n = this.node(id);
    if (n.proc === undefined || n.paused) return undefined;
    const r = await this.o.layer.http(id, "/v1/status", timeoutMs);
    if (r.status !== 200) return undefined;
    try {
      return JSON.parse(r.body) as NodeStatus;
    } catch {
      return undefined;
    }
  }

  /** Statuses of every running node, by id. */
  async statuses(): Promise<Map<string, NodeStatus>> {
    const out = new Map<string, NodeStatus>();
    await Promise.all(this.ids.map(async (id) => {
      const s = await this.status(id);
      if (s !== undefined) out.set(id, s);
    }));
    return out;
  }

  /** The leader every reachable member agrees on, if any. */
  async leader(): Promise<string | undefined> {
    const sts = await this.statuses();
    const leaders = [...sts.values()].filter((s) => s.role === "leader");
    if (leaders.length !== 1) return undefined;
    return leaders[0]!.nodeId;
  }

  /** Wait until the given nodes answer /readyz with 200. */
  async waitReady(ids: readonly string[], timeoutMs: number): Promise<void> {
    await waitFor(`nodes ${ids.join(",")} ready`, async () => {
      for (const id of ids) if (this.node(id).proc === undefined) throw new Error(`${id} exited during start-up; see ${this.node(id).logFile}`);
      const codes = await Promise.all(ids.map((id) => this.o.layer.http(id, "/readyz", 1000)));
      return codes.every((c) => c.status === 200) ? true : undefined;
    }, timeoutMs, 100);
  }

  /** The client addresses the nodes advertise (what the SDK is given and redirected to). */
  servers(): string[] {
    const peers = this.o.layer.net(this.ids[0]!).peers.split(",");
    return peers.map((e) => {
      const [, rest] = e.split("=");
      const [host, , client] = rest!.split(":");
      return `ws://${host}:${client}`;
    });
  }

  /** An SDK client that reaches the nodes through the layer. */
  connect(name: string, options: Partial<ConnectOptions> = {}): Promise<RaftbusClient> {
    return connect({ servers: this.servers(), name, webSocketFactory: this.o.layer.webSocketFactory, timeoutMs: 10_000, ...options });
  }

  /** Resume paused nodes and kill every process (the registry is the safety net). */
  async killAll(): Promise<void> {
    for (const id of this.ids) await this.kill(id);
  }
}

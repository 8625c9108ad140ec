/**
 * Runs real kv-node processes on 127.0.0.1 for the process-level tests:
 * free ports, temp data directories, spawning (`node --import tsx`, one
 * process per node, so SIGKILL hits the node itself), the ready line, HTTP
 * helpers and bounded waits. Every process is killed in `destroy()` and,
 * as a last resort, when the test worker exits.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:net";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { EXIT } from "../../src/example/kv-node-app.ts";

/** The repository root (where `tsx` resolves from). */
export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const KV_NODE = path.join(REPO_ROOT, "packages/raft/src/example/kv-node.ts");

/** Keep this much of each process's output for failure messages. */
const OUTPUT_CHARS_MAX = 64 * 1024;

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** `n` distinct free TCP ports on 127.0.0.1 (bound together, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<Server>((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => resolve(s));
  })));
  const ports = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a === "string") throw new Error("no port");
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** Sleep `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `f` every `everyMs` until it returns a value other than undefined; throws after `timeoutMs`. */
export async function waitFor<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let i = 0; i < 100_000; i++) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > end) break;
    await sleep(everyMs);
  }
  const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
}

/** How a process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One kv-node process. */
export class KvProcess {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  /** Resolves with the HTTP port once the node printed its ready line; rejects if it exits first. */
  readonly ready: Promise<number>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  exit: Exit | undefined;

  constructor(readonly id: string, args: readonly string[]) {
    this.child = spawn(process.execPath, ["--import", "tsx", KV_NODE, ...args], {
      cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_OPTIONS: "" },
    });
    live.add(this.child);
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        live.delete(this.child);
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    this.ready = new Promise((resolve, reject) => {
      this.child.stdout?.on("data", (d: Buffer) => {
        this.stdout = (this.stdout + d.toString("utf8")).slice(-OUTPUT_CHARS_MAX);
        const m = /"event":"ready".*"httpPort":(\d+)/.exec(this.stdout);
        if (m !== null) resolve(Number(m[1]));
      });
      void this.exited.then((e) => reject(new Error(`${id} exited (${e.code ?? e.signal}) before it was ready:\n${this.stderr}`)));
    });
    this.ready.catch(() => undefined); // observed by whoever awaits it
    this.child.stderr?.on("data", (d: Buffer) => {
      this.stderr = (this.stderr + d.toString("utf8")).slice(-OUTPUT_CHARS_MAX);
    });
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** Sends `signal` and waits (bounded) for the exit. */
  async kill(signal: NodeJS.Signals, timeoutMs = 15_000): Promise<Exit> {
    if (this.exit !== undefined) return this.exit;
    this.child.kill(signal);
    const timer = sleep(timeoutMs).then(() => "timeout" as const);
    const r = await Promise.race([this.exited, timer]);
    if (r !== "timeout") return r;
    this.child.kill("SIGKILL");
    return this.exited;
  }
}

/** Options of a test cluster; they become kv-node flags. */
export interface ClusterOptions {
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly snapshotEntries?: number;
  readonly trailingEntries?: number;
  readonly snapshotChunkBytes?: number;
}

/** Three kv-node processes on 127.0.0.1 with data under one temp directory. */
export class KvCluster {
  readonly ids = ["n1", "n2", "n3"];
  readonly procs = new Map<string, KvProcess>();
  readonly httpPorts = new Map<string, number>();

  private constructor(readonly root: string, private readonly peerPorts: Map<string, number>, readonly opts: Required<ClusterOptions>) {}

  /** Reserves ports and a data directory; no process runs yet. */
  static async create(opts: ClusterOptions = {}): Promise<KvCluster> {
    const root = await mkdtemp(path.join(tmpdir(), "raftbus-kv-proc-"));
    const ports = await freePorts(3);
    const ids = ["n1", "n2", "n3"];
    return new KvCluster(root, new Map(ids.map((id, i) => [id, ports[i]!])), {
      tickMs: 25, electionTicks: 10, snapshotEntries: 10_000, trailingEntries: 1_000, snapshotChunkBytes: 256 * 1024, ...opts,
    });
  }

  /** Longest randomized election timeout (the core draws from [electionTicks, 2·electionTicks) ticks). */
  get maxElectionMs(): number {
    return 2 * this.opts.electionTicks * this.opts.tickMs;
  }

  dataDir(id: string): string {
    return path.join(this.root, id);
  }

  /** The kv-node flags for `id` (tests may override the id to start a node on the wrong directory). */
  args(id: string, overrides: { id?: string } = {}): string[] {
    const peers = this.ids.map((p) => `${p}=127.0.0.1:${this.peerPorts.get(p)}`).join(",");
    const o = this.opts;
    return [
      "--id", overrides.id ?? id, "--data", this.dataDir(id), "--peers", peers, "--http-port", "0",
      "--secret", "process-test-secret-0123456789", "--tick-ms", String(o.tickMs), "--election-ticks", String(o.electionTicks),
      "--snapshot-entries", String(o.snapshotEntries), "--trailing-entries", String(o.trailingEntries),
      "--snapshot-chunk-bytes", String(o.snapshotChunkBytes), "--shutdown-timeout-ms", "5000",
    ];
  }

  /** Starts `id` and waits for its ready line. */
  async start(id: string, timeoutMs = 30_000): Promise<KvProcess> {
    const p = new KvProcess(id, this.args(id));
    this.procs.set(id, p);
    const port = await Promise.race([p.ready, sleep(timeoutMs).then(() => {
      throw new Error(`${id} not ready within ${timeoutMs} ms:\n${p.stderr}`);
    })]);
    this.httpPorts.set(id, port);
    return p;
  }

  /**
   * Starts all three. The peer ports were free when reserved, but another
   * process may bind one before the node does (exit code 5): then all three
   * get fresh ports and start again, a bounded number of times.
   */
  async startAll(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const started = await Promise.allSettled(this.ids.map((id) => this.start(id)));
      const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed === undefined) return;
      const lostPort = [...this.procs.values()].some((p) => p.exit?.code === EXIT.bind);
      await Promise.all([...this.procs.values()].map((p) => p.kill("SIGKILL", 5_000)));
      if (!lostPort || attempt >= 3) throw failed.reason;
      const ports = await freePorts(this.ids.length);
      this.ids.forEach((id, i) => this.peerPorts.set(id, ports[i]!));
    }
  }

  /** Ids of nodes whose process is running. */
  liveIds(): string[] {
    return this.ids.filter((id) => this.procs.get(id)?.alive === true);
  }

  /** One HTTP request to `id`; `body` is parsed JSON (undefined when not JSON). */
  async request(id: string, method: string, urlPath: string, body?: string, timeoutMs = 5_000): Promise<{ status: number; body: Record<string, unknown> }> {
    const port = this.httpPorts.get(id);
    if (port === undefined) throw new Error(`${id} has no HTTP port`);
    const res = await fetch(`http://127.0.0.1:${port}${urlPath}`, { method, body, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { text };
    }
    return { status: res.status, body: parsed as Record<string, unknown> };
  }

  /** GET /status of `id`. */
  async status(id: string): Promise<NodeStatus> {
    const r = await this.request(id, "GET", "/status", undefined, 2_000);
    if (r.status !== 200) throw new Error(`status of ${id}: HTTP ${r.status}`);
    return r.body as unknown as NodeStatus;
  }

  /** The live node that reports itself leader with the highest term, if any. */
  async leader(): Promise<{ id: string; status: NodeStatus } | undefined> {
    let best: { id: string; status: NodeStatus } | undefined;
    for (const id of this.liveIds()) {
      const s = await this.status(id).catch(() => undefined);
      if (s?.role === "leader" && (best === undefined || s.term > best.status.term)) best = { id, status: s };
    }
    return best;
  }

  /** Waits (bounded) for a leader. */
  waitForLeader(timeoutMs = 20_000, minTerm = 0): Promise<{ id: string; status: NodeStatus }> {
    return waitFor("a leader", async () => {
      const l = await this.leader();
      return l !== undefined && l.status.term > minTerm ? l : undefined;
    }, timeoutMs, 25);
  }

  /**
   * Sends a write to whoever leads, following NOT_LEADER hints and retrying
   * 503s and connection errors (bounded), until it gets a 200.
   */
  async writeToLeader(method: string, urlPath: string, body: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    let target = (await this.waitForLeader(timeoutMs)).id;
    let last = "no attempt";
    const end = Date.now() + timeoutMs;
    for (let attempt = 0; attempt < 500 && Date.now() < end; attempt++) {
      try {
        const r = await this.request(target, method, urlPath, body);
        if (r.status === 200) return r.body;
        last = `HTTP ${r.status} ${JSON.stringify(r.body)}`;
        const hint = r.body["leaderHint"];
        if (r.status === 421 && typeof hint === "string" && hint !== target) {
          target = hint;
          continue;
        }
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      await sleep(25);
      target = (await this.leader())?.id ?? target;
    }
    throw new Error(`${method} ${urlPath}: no leader accepted it within ${timeoutMs} ms (last: ${last})`);
  }

  /** GET /kv of `id`: every pair it holds (bounded by the API's limit). */
  async dump(id: string): Promise<Map<string, string>> {
    const r = await this.request(id, "GET", "/kv?limit=100000");
    const pairs = r.body["pairs"] as [string, string][];
    return new Map(pairs);
  }

  /** Kills every process still running (SIGKILL) and removes the data. */
  async destroy(): Promise<void> {
    await Promise.all([...this.procs.values()].map((p) => p.kill("SIGKILL", 5_000)));
    await rm(this.root, { recursive: true, force: true });
  }
}

/** The parts of GET /status the tests read. */
export interface NodeStatus {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly leader: string | null;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly stats: { syncedWrites: number; unsyncedWrites: number; snapshotsRestored: number; snapshotsTaken: number; proposals: number; proposalBatches: number };
  readonly snapshotReceive: { begun: number; chunksWritten: number; bytesWritten: number; committed: number };
  readonly transport: { peers: Record<string, { snapshotsSent: number; snapshotsReceived: number; connected: boolean }> };
}

/**
 * A real raftbus cluster for tests: N `raftbus node start` processes on
 * 127.0.0.1 with random free ports and a temp data folder. Nodes can be
 * killed with SIGKILL, stopped with SIGTERM and restarted from their data.
 * Every wait is bounded; `destroy()` kills whatever is left.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../packages/cli/src/bin.ts", import.meta.url));

/** One node of the test cluster. */
export interface TestNode {
  readonly id: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  readonly logFile: string;
  proc: ChildProcess | undefined;
  exitCode: number | null;
}

/** What /v1/status answers. */
export interface NodeStatusJson {
  nodeId: string;
  role: string;
  term: number;
  leaderId: string | null;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
}

/** Options of a test cluster. */
export interface LocalClusterOptions {
  readonly nodes?: number;
  /** Extra flags for every node (e.g. --snapshot-entries 50). */
  readonly extraArgs?: readonly string[];
  readonly tickMs?: number;
  /** Node.js flags for every node process (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
  readonly execArgv?: readonly string[];
  /** Extra flags for some nodes at the first start, by node id (e.g. `{ n3: ["--cluster-version-max", "1"] }`). */
  readonly nodeOverrides?: Readonly<Record<string, readonly string[]>>;
  /** Extra environment variables for every node (e.g. RAFTBUS_TIME_TICK_MS). */
  readonly env?: Readonly<Record<string, string>>;
  /** Runs once ports and data folders are chosen, before any node starts (e.g. to restore a backup into them). */
  readonly beforeStart?: (cluster: LocalCluster) => Promise<void>;
  /** Run the nodes with TLS from these PEM files (one certificate for every node); HTTP checks then use https with `caFile`. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly caFile: string };
}

/** A port the OS says is free on 127.0.0.1 now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** Sleep `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `f` until it returns a value, at most `timeoutMs`. */
export async function waitFor<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A cluster of real node processes. */
export class LocalCluster {
  readonly root: string;
  readonly nodes: TestNode[] = [];
  private readonly extraArgs: readonly string[];
  private readonly execArgv: readonly string[];
  private readonly env: Readonly<Record<string, string>>;
  /** The CA the nodes' certificates chain to, when they run TLS. */
  readonly ca: Buffer | undefined;

  private constructor(root: string, extraArgs: readonly string[], execArgv: readonly string[] = [], env: Readonly<Record<string, string>> = {}, caFile?: string) {
    this.root = root;
    this.extraArgs = extraArgs;
    this.execArgv = execArgv;
    this.env = env;
    this.ca = caFile === undefined ? undefined : readFileSync(caFile);
  }

  /** Create and start a cluster; resolves once every node is ready. */
  static async start(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
    const n = opts.nodes ?? 3;
    const tls = opts.tls === undefined ? [] : ["--tls-cert", opts.tls.certFile, "--tls-key", opts.tls.keyFile, "--tls-ca", opts.tls.caFile];
    const c = new LocalCluster(mkdtempSync(join(tmpdir(), "raftbus-test-")), [
      // Tests of everything but authentication run open on loopback; a later --auth in extraArgs wins.
      "--tick-ms", String(opts.tickMs ?? 20), "--log-level", "info", "--auth", "open", ...tls, ...(opts.extraArgs ?? []),
    ], opts.execArgv, opts.env, opts.tls?.caFile);
    for (let i = 1; i <= n; i++) await c.newNode(`n${i}`);
    try {
      await opts.beforeStart?.(c);
    } catch (err) {
      rmSync(c.root, { recursive: true, force: true });
      throw err;
    }
    for (const node of c.nodes) c.startNode(node, opts.nodeOverrides?.[node.id] ?? []);
    await c.waitReady();
    return c;
  }

  /**
   * Allocates ports and a data folder for node `id` and lists it in
   * `peers()` (nodes started from now on know it); nothing starts. To join a
   * running cluster, start it and add it with `cluster add-node`.
   */
  async newNode(id: string): Promise<TestNode> {
    const node: TestNode = {
      id, clientPort: await freePort(), peerPort: await freePort(), dataDir: join(this.root, id),
      logFile: join(this.root, `${id}.log`), proc: undefined, exitCode: null,
    };
    this.nodes.push(node);
    return node;
  }

  /** The `--peers` value of this cluster. */
  peers(): string {
    return this.nodes.map((n) => `${n.id}=127.0.0.1:${n.peerPort}:${n.clientPort}`).join(",");
  }

  /** Client addresses, for the SDK's `servers` (wss:// with TLS). */
  servers(): string[] {
    return this.nodes.map((n) => `${this.ca === undefined ? "ws" : "wss"}://127.0.0.1:${n.clientPort}`);
  }

  /** GET a node's HTTP endpoint (https checked against the CA with TLS): status code and body, or undefined when unreachable. */
  async get(node: TestNode, path: string, timeoutMs = 1000): Promise<{ status: number; body: string } | undefined> {
    const ca = this.ca;
    const url = `${ca === undefined ? "http" : "https"}://127.0.0.1:${node.clientPort}${path}`;
    return new Promise((resolve) => {
      const options = { signal: AbortSignal.timeout(timeoutMs), ...(ca !== undefined ? { ca } : {}) };
      const req = (ca === undefined ? httpGet : httpsGet)(url, options, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", () => resolve(undefined));
      });
      req.on("error", () => resolve(undefined));
    });
  }

  /** Arguments that start `node`, plus overrides (a `--peers` among them replaces the cluster's list). */
  nodeArgs(node: TestNode, overrides: readonly string[] = []): string[] {
    const peers = overrides.includes("--peers") ? [] : ["--peers", this.peers()];
    return [
      "node", "start", "--id", node.id, "--data-dir", node.dataDir, "--client-port", String(node.clientPort),
      "--peer-port", String(node.peerPort), ...peers, ...this.extraArgs, ...overrides,
    ];
  }

  /**
   * `--peers` for a node joining the running cluster with empty data: itself
   * and two members, `first` among them (the config wants an odd count; its
   * bootstrap membership is replaced by the leader's once it is added, but
   * its transport admits connections only from the peers listed).
   */
  joinPeers(node: TestNode, first?: TestNode): string[] {
    const rest = this.nodes.filter((n) => n !== node && n !== first);
    const others = [...(first !== undefined ? [first] : []), ...rest].slice(0, 2);
    return ["--peers", [node, ...others].map((n) => `${n.id}=127.0.0.1:${n.peerPort}:${n.clientPort}`).join(",")];
  }

  /** (Re)start a node process from its data. */
  startNode(node: TestNode, overrides: readonly string[] = []): ChildProcess {
    const log = openSync(node.logFile, "a");
    let proc: ChildProcess;
    try {
      proc = spawn(process.execPath, [...this.execArgv, "--import", "tsx", BIN, ...this.nodeArgs(node, overrides)], {
        stdio: ["ignore", log, log],
        env: { ...process.env, RAFTBUS_SERVERS: "", ...this.env },
      });
    } finally {
      closeSync(log); // the child has its own copy; ours would leak one descriptor per start
    }
    node.proc = proc;
    node.exitCode = null;
    proc.on("exit", (code) => {
      node.exitCode = code ?? -1;
      if (node.proc === proc) node.proc = undefined;
    });
    return proc;
  }

  /** Run a node process to completion (for start-up failures); resolves with exit code and output. */
  async runNodeToExit(node: TestNode, overrides: readonly string[] = [], timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
    const proc = spawn(process.execPath, [...this.execArgv, "--import", "tsx", BIN, ...this.nodeArgs(node, overrides)], {
      stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RAFTBUS_SERVERS: "", ...this.env },
    });
    let output = "";
    proc.stdout.on("data", (d: Buffer) => (output += d.toString()));
    proc.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
    const code = await new Promise<number | null>((r) => proc.on("exit", (c) => r(c)));
    clearTimeout(timer);
    return { code, output };
  }

  /** SIGKILL a node (no chance to flush anything not yet fsync'd). */
  async kill(node: TestNode): Promise<void> {
    const p = node.proc;
    if (p === undefined) return;
    p.kill("SIGKILL");
    await waitFor(`${node.id} to die`, () => (node.proc === undefined ? true : undefined), 10_000, 20);
  }

  /** SIGTERM a node and wait for its clean exit. */
  async stop(node: TestNode): Promise<number | null> {
    const p = node.proc;
    if (p === undefined) return node.exitCode;
    p.kill("SIGTERM");
    await waitFor(`${node.id} to stop`, () => (node.proc === undefined ? true : undefined), 20_000, 20);
    return node.exitCode;
  }

  /** /v1/status of a node, or undefined when unreachable. */
  async status(node: TestNode): Promise<NodeStatusJson | undefined> {
    const r = await this.get(node, "/v1/status");
    try {
      return r !== undefined && r.status === 200 ? (JSON.parse(r.body) as NodeStatusJson) : undefined;
    } catch {
      return undefined;
    }
  }

  /** HTTP status code of /readyz, or 0 when unreachable. */
  async readyz(node: TestNode): Promise<number> {
    return (await this.get(node, "/readyz"))?.status ?? 0;
  }

  /** Wait until every running node answers /readyz with 200. */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    await waitFor("cluster ready", async () => {
      const running = this.nodes.filter((n) => n.proc !== undefined);
      const codes = await Promise.all(running.map((n) => this.readyz(n)));
      return codes.every((c) => c === 200) ? true : undefined;
    }, timeoutMs, 100);
  }

  /** The node every running node agrees leads, once they agree. */
  async leader(timeoutMs = 30_000): Promise<TestNode> {
    return waitFor("an agreed leader", async () => {
      const running = this.nodes.filter((n) => n.proc !== undefined);
      const sts = await Promise.all(running.map((n) => this.status(n)));
      const leaderNode = running.find((_, i) => sts[i]?.role === "leader");
      if (leaderNode === undefined) return undefined;
      return sts.every((s) => s?.leaderId === leaderNode.id) ? leaderNode : undefined;
    }, timeoutMs, 50);
  }

  /** Resident memory of a node's process in bytes (Linux /proc), or undefined when it is not running. */
  rssBytes(node: TestNode): number | undefined {
    const pid = node.proc?.pid;
    if (pid === undefined) return undefined;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      return m === null ? undefined : Number(m[1]) * 1024;
    } catch {
      return undefined;
    }
  }

  /** A node's log so far (for failure messages). */
  log(node: TestNode): string {
    try {
      return readFileSync(node.logFile, "utf8");
    } catch {
      return "";
    }
  }

  /** Kill every node and remove the data folder (kept, for post-mortems, with RAFTBUS_KEEP_TEST_DATA=1). */
  async destroy(): Promise<void> {
    for (const n of this.nodes) n.proc?.kill("SIGKILL");
    await waitFor("all nodes dead", () => (this.nodes.every((n) => n.proc === undefined) ? true : undefined), 10_000, 20).catch(() => undefined);
    if (process.env["RAFTBUS_KEEP_TEST_DATA"] === "1") console.log(`kept ${this.root}`);
    else rmSync(this.root, { recursive: true, force: true });
  }
}

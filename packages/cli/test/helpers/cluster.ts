/**
 * A real local three-node cluster for end-to-end tests: `raftbus node start`
 * child processes on free loopback ports with a temporary data directory, and
 * a runner for the CLI as a child process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The CLI entry point. */
export const BIN = fileURLToPath(new URL("../../src/bin.ts", import.meta.url));
/** The repository root (tsx resolves from there). */
export const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

/** A running test cluster. */
export interface TestCluster {
  /** `ws://127.0.0.1:P1,…` */
  readonly servers: string;
  readonly clientPorts: readonly number[];
  readonly dataDir: string;
  /** The tail of every node's log, for failure messages. */
  logs(): string;
  /** Stop every node (SIGTERM, then SIGKILL) and remove the data. Idempotent. */
  stop(): Promise<void>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A base port with base..base+n-1 and base+100..base+100+n-1 free (random in 20000–39999). */
async function freeBasePort(nodes: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 19_800);
    const ports = Array.from({ length: nodes }, (_, i) => [base + i, base + 100 + i]).flat();
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error("no free port range found in 50 tries");
}

async function ready(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Start `nodes` nodes and resolve once all report ready; stops them when they do not within `readyTimeoutMs`. */
export async function startCluster(nodes = 3, readyTimeoutMs = 60_000): Promise<TestCluster> {
  const base = await freeBasePort(nodes);
  const dataDir = mkdtempSync(join(tmpdir(), "raftbus-cli-e2e-"));
  const ids = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
  const clientPorts = ids.map((_, i) => base + i);
  const peers = ids.map((id, i) => `${id}=127.0.0.1:${base + 100 + i}:${base + i}`).join(",");
  const children: ChildProcess[] = ids.map((id, i) => {
    const log = openSync(join(dataDir, `${id}.log`), "a");
    return spawn(process.execPath, [
      "--import", "tsx", BIN, "node", "start", "--id", id, "--data-dir", join(dataDir, id),
      "--client-port", String(base + i), "--peer-port", String(base + 100 + i), "--peers", peers, "--log-level", "warn",
      "--auth", "open",
    ], { cwd: ROOT, stdio: ["ignore", log, log], env: { ...process.env, NO_COLOR: "1" } });
  });
  // Whatever happens to the test runner, the nodes must not outlive it.
  const killAll = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  };
  process.once("exit", killAll);
  let stopped = false;
  const cluster: TestCluster = {
    servers: clientPorts.map((p) => `ws://127.0.0.1:${p}`).join(","),
    clientPorts,
    dataDir,
    logs: () => ids.map((id) => {
      let text = "";
      try {
        text = readFileSync(join(dataDir, `${id}.log`), "utf8");
      } catch (err) {
        text = `(no log: ${String(err)})`;
      }
      return `--- ${id}.log (tail)\n${text.split("\n").slice(-15).join("\n")}`;
    }).join("\n"),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      const exited = children.map((c) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once("exit", () => r()))));
      for (const c of children) c.kill("SIGTERM");
      const timer = setTimeout(killAll, 10_000);
      await Promise.all(exited);
      clearTimeout(timer);
      process.removeListener("exit", killAll);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + readyTimeoutMs;
  // Bounded by the deadline.
  while (Date.now() < deadline) {
    if ((await Promise.all(clientPorts.map(ready))).every(Boolean)) return cluster;
    if (children.some((c) => c.exitCode !== null)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const logs = cluster.logs();
  await cluster.stop();
  throw new Error(`cluster not ready within ${readyTimeoutMs} ms\n${logs}`);
}

/** What one CLI run printed and how it exited. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Run `raftbus <args>` as a child process (killed after `timeoutMs`). */
export function runCli(args: readonly string[], options: { stdin?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", BIN, ...args], {
      cwd: ROOT,
      stdio: [options.stdin !== undefined ? "pipe" : "ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", RAFTBUS_SERVERS: "", ...options.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/**
 * Run `raftbus <args>` in this process with an in-memory terminal: the same
 * command tree and exit codes as the binary, without the seconds a child
 * process spends starting up (a lot on a loaded machine).
 */
export async function runCliInProcess(args: readonly string[], options: { env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const { run } = await import("../../src/cli.ts");
  const { fakeIo } = await import("./fake-io.ts");
  const io = fakeIo({ env: { RAFTBUS_SERVERS: "", ...options.env } });
  const code = await run(args, io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

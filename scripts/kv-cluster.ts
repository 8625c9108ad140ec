/**
 * Starts a three-node example key-value cluster on loopback, each node a
 * real process (packages/raft/src/example/kv-node.ts) with its data under
 * one folder, prints who leads whenever that changes, and stops the nodes
 * gracefully on Ctrl-C.
 *
 *   pnpm tsx scripts/kv-cluster.ts [--data ./data/kv] [--peer-port 7101] [--http-port 7201]
 *                                  [--tick-ms 50] [--snapshot-entries 10000]
 *
 * Then, e.g.: curl -XPUT localhost:7201/kv/hello -d world  (421 names the
 * leader if n1 is not it); curl 'localhost:7202/kv/hello?linearizable=1';
 * curl localhost:7203/status.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const KV_NODE = path.join(ROOT, "packages/raft/src/example/kv-node.ts");
const IDS = ["n1", "n2", "n3"] as const;
/** How long a node may take to stop after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 15_000;
const POLL_MS = 500;

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "./data/kv" },
    "peer-port": { type: "string", default: "7101" },
    "http-port": { type: "string", default: "7201" },
    "tick-ms": { type: "string", default: "50" },
    "snapshot-entries": { type: "string", default: "10000" },
    secret: { type: "string" },
  },
});

const peerBase = Number(values["peer-port"]);
const httpBase = Number(values["http-port"]);
if (![peerBase, httpBase].every((p) => Number.isInteger(p) && p > 0 && p + IDS.length <= 65_535)) {
  console.error("kv-cluster: --peer-port and --http-port take a port number");
  process.exit(64);
}
const secret = values.secret ?? process.env["RAFTBUS_SECRET"] ?? "kv-cluster-example-secret";
const dataRoot = path.resolve(values.data);
const peers = IDS.map((id, i) => `${id}=127.0.0.1:${peerBase + i}`).join(",");

const children = new Map<string, ChildProcess>();
let stopping = false;

function startNode(id: string, i: number): void {
  const child = spawn(process.execPath, [
    "--import", "tsx", KV_NODE, "--id", id, "--data", path.join(dataRoot, id), "--peers", peers,
    "--http-port", String(httpBase + i), "--tick-ms", values["tick-ms"], "--snapshot-entries", values["snapshot-entries"],
  ], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RAFTBUS_SECRET: secret } });
  children.set(id, child);
  child.stdout?.on("data", (d: Buffer) => {
    for (const line of d.toString("utf8").split("\n").filter(Boolean)) console.log(`[${id}] ${line}`);
  });
  // Node logs are JSON lines; show warnings and errors, keep info quiet.
  child.stderr?.on("data", (d: Buffer) => {
    for (const line of d.toString("utf8").split("\n").filter(Boolean)) {
      if (!line.includes('"level":"info"')) console.error(`[${id}] ${line}`);
    }
  });
  child.once("exit", (code, signal) => {
    children.delete(id);
    if (!stopping) console.error(`[${id}] exited (${code ?? signal}); the others keep running`);
  });
}

/** Asks every node for its status; returns "nX (term T)" for the leader, if one answers as such. */
async function whoLeads(): Promise<string> {
  for (const [i, id] of IDS.entries()) {
    try {
      const res = await fetch(`http://127.0.0.1:${httpBase + i}/status`, { signal: AbortSignal.timeout(1_000) });
      const s = (await res.json()) as { role?: string; term?: number };
      if (s.role === "leader") return `${id} (term ${s.term}, http://127.0.0.1:${httpBase + i})`;
    } catch {
      // Not up (yet), or down: ask the next one.
    }
  }
  return "nobody";
}

async function stopAll(): Promise<void> {
  stopping = true;
  console.log("stopping the nodes…");
  await Promise.all([...children.values()].map((child) => new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  })));
}

IDS.forEach((id, i) => startNode(id, i));
console.log(`kv-cluster: 3 nodes, data under ${dataRoot}, HTTP on 127.0.0.1:${httpBase}-${httpBase + 2}; Ctrl-C stops them`);

let lastLeader = "";
const poll = setInterval(() => {
  void whoLeads().then((leader) => {
    if (leader !== lastLeader && !stopping) console.log(`leader: ${leader}`);
    lastLeader = leader;
  });
}, POLL_MS);

let signalled = false;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    if (signalled) return;
    signalled = true;
    clearInterval(poll);
    void stopAll().then(() => process.exit(0));
  });
}

/**
 * `raftbus cluster up`: a local development cluster of N nodes as child
 * processes on 127.0.0.1 (client ports base.., peer ports base+100..), data
 * under one folder, logs in <data-dir>/<id>.log. Run it again and the nodes
 * restart from the same data; Ctrl-C stops them all cleanly.
 *
 * Authentication is on (token mode): the first run writes a random admin
 * token to `<data-dir>/credentials` (mode 0600), every node is started with
 * it as its admin token, and the CLI run from the folder above finds it by
 * default (util/credentials.ts), so `pnpm start` then `pnpm raftbus …` works
 * with no flags. The dashboard link it prints carries the token in the URL
 * fragment, which the browser never sends to the server.
 *
 * The nodes share a random cluster secret kept in <data-dir>/cluster-secret
 * (generated the first time; RAFTBUS_CLUSTER_SECRET, when set, is used
 * instead), so no built-in secret ever guards the peer ports.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { formatPeers } from "@raftbus/broker";
import type { PeerSpec } from "@raftbus/broker";
import { localClusterSecret } from "../node/local-secret.ts";
import { EXIT } from "../util/exit-codes.ts";

/** Options of `cluster up`. */
export interface ClusterUpOptions {
  readonly nodes: number;
  readonly dataDir: string;
  readonly basePort: number;
  readonly logLevel: string;
  /** Give up waiting for readiness after this long. */
  readonly readyTimeoutMs: number;
  /** Print progress (tests pass a sink). */
  readonly out: (line: string) => void;
}

// bin.ts from the sources (under tsx), bin.js from the build: the same extension as this module.
/** The credentials file of a local cluster, in its data folder (util/credentials.ts reads it). */
export const LOCAL_CREDENTIALS = "credentials";

/**
 * The local cluster's admin token: read from `<dataDir>/credentials`, or
 * drawn and written there (0600) the first time. The format is the node's
 * admin token format (`rbu1.admin.<secret>`), so the file serves both the
 * nodes (--admin-token-file) and the CLI (--credentials).
 */
export function localAdminToken(dataDir: string): { file: string; token: string; created: boolean } {
  const file = join(dataDir, LOCAL_CREDENTIALS);
  if (!existsSync(file)) {
    const token = `rbu1.admin.${randomBytes(32).toString("base64url")}`;
    writeFileSync(file, `# raftbus admin token of the local cluster (raftbus cluster up); keep it private\n${token}\n`, { mode: 0o600, flag: "wx" });
    return { file, token, created: true };
  }
  const token = readFileSync(file, "utf8").split(/\r?\n/).map((l) => l.trim()).find((l) => l.length > 0 && !l.startsWith("#")) ?? "";
  return { file, token, created: false };
}

const BIN = fileURLToPath(new URL(`../bin${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** The peer list of a local cluster. */
export function localPeers(nodes: number, basePort: number): PeerSpec[] {
  return Array.from({ length: nodes }, (_, i) => ({ id: `n${i + 1}`, host: "127.0.0.1", clientPort: basePort + i, peerPort: basePort + 100 + i }));
}

interface Started {
  readonly spec: PeerSpec;
  readonly child: ChildProcess;
  exited: boolean;
}

async function status(p: PeerSpec): Promise<{ ready: boolean; role?: string; leaderId?: string | null; term?: number }> {
  try {
    const ready = await fetch(`http://${p.host}:${p.clientPort}/readyz`, { signal: AbortSignal.timeout(1000) });
    const st = await fetch(`http://${p.host}:${p.clientPort}/v1/status`, { signal: AbortSignal.timeout(1000) });
    const s = (await st.json()) as { role: string; leaderId: string | null; term: number };
    return { ready: ready.ok, role: s.role, leaderId: s.leaderId, term: s.term };
  } catch {
    return { ready: false };
  }
}

/** Start the cluster and keep it running until SIGINT/SIGTERM. Resolves with the exit code. */
export async function clusterUp(o: ClusterUpOptions): Promise<number> {
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes % 2 === 0 || o.nodes > 9) {
    o.out("raftbus cluster up: --nodes must be an odd number between 1 and 9");
    return EXIT.USAGE;
  }
  const started = Date.now();
  const dataDir = resolve(o.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const peers = localPeers(o.nodes, o.basePort);
  const admin = localAdminToken(dataDir);
  let env: NodeJS.ProcessEnv = process.env;
  if ((process.env["RAFTBUS_CLUSTER_SECRET"] ?? "") === "") {
    let local;
    try {
      local = localClusterSecret(dataDir);
    } catch (err) {
      o.out(`raftbus cluster up: ${err instanceof Error ? err.message : String(err)}`);
      return EXIT.USAGE;
    }
    if (local.created) o.out(`generated a cluster secret for this data folder: ${local.file}`);
    // The environment, not argv: command lines are visible to every user of the machine.
    env = { ...process.env, RAFTBUS_CLUSTER_SECRET: local.secret };
  }
  const nodes: Started[] = peers.map((spec) => {
    const log = openSync(join(dataDir, `${spec.id}.log`), "a");
    const child = spawn(process.execPath, [
      ...process.execArgv, BIN, "node", "start", "--id", spec.id, "--data-dir", join(dataDir, spec.id),
      "--client-port", String(spec.clientPort), "--peer-port", String(spec.peerPort), "--peers", formatPeers(peers),
      "--log-level", o.logLevel, "--admin-token-file", admin.file,
    ], { stdio: ["ignore", log, log], env });
    const s: Started = { spec, child, exited: false };
    child.on("exit", (code, signal) => {
      s.exited = true;
      if (!stopping) o.out(`node ${spec.id} exited (${signal ?? `code ${code}`}); see ${join(dataDir, `${spec.id}.log`)}`);
    });
    return s;
  });
  let stopping = false;
  const stopAll = async (): Promise<void> => {
    stopping = true;
    for (const n of nodes) if (!n.exited) n.child.kill("SIGTERM");
    const deadline = Date.now() + 15_000;
    while (nodes.some((n) => !n.exited) && Date.now() < deadline) await sleep(100);
    for (const n of nodes) if (!n.exited) n.child.kill("SIGKILL");
  };
  const signalled = new Promise<void>((r) => {
    process.once("SIGINT", () => r());
    process.once("SIGTERM", () => r());
  });

  o.out(`starting ${o.nodes} nodes; data in ${dataDir}`);
  const readyBy = Date.now() + o.readyTimeoutMs;
  let statuses: Awaited<ReturnType<typeof status>>[] = [];
  for (;;) {
    statuses = await Promise.all(peers.map(status));
    if (statuses.every((s) => s.ready)) break;
    if (nodes.every((n) => n.exited) || Date.now() > readyBy) {
      o.out(`cluster not ready after ${((Date.now() - started) / 1000).toFixed(1)} s; see the logs in ${dataDir}`);
      await stopAll();
      return EXIT.FAILED;
    }
    await sleep(150);
  }
  const leader = statuses.find((s) => s.role === "leader") ? peers[statuses.findIndex((s) => s.role === "leader")]!.id : statuses[0]?.leaderId ?? "?";
  o.out(`cluster ready in ${((Date.now() - started) / 1000).toFixed(1)} s — leader ${leader}, term ${statuses[0]?.term ?? "?"}`);
  o.out("");
  o.out("  node  client                peer              role");
  peers.forEach((p, i) => o.out(`  ${p.id.padEnd(5)} ws://${p.host}:${p.clientPort}`.padEnd(30) + `${p.host}:${p.peerPort}`.padEnd(18) + `${statuses[i]?.role ?? "?"}`));
  o.out("");
  o.out(`servers: ${peers.map((p) => `ws://${p.host}:${p.clientPort}`).join(",")}`);
  o.out(`admin token: ${admin.file}${admin.created ? " (new)" : ""} — the CLI run from ${dirname(dataDir)} reads it by default; elsewhere pass --credentials ${admin.file}`);
  o.out(`dashboard: http://${peers[0]!.host}:${peers[0]!.clientPort}/#token=${admin.token}`);
  o.out("try:     pnpm raftbus pub demo hello   |   pnpm raftbus sub demo --count 1 --from earliest   |   pnpm raftbus cluster status");
  o.out("Ctrl-C stops the cluster; run the command again to restart it with the same data.");
  await signalled;
  o.out("stopping…");
  await stopAll();
  o.out("stopped");
  return EXIT.OK;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

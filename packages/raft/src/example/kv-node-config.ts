/**
 * Command-line flags of the example key-value node, parsed and validated
 * once at start-up (STYLE.md practice 5): a bad flag stops the process with
 * a message naming it, before any file or port is touched.
 */
import { parseArgs } from "node:util";
import type { NodeId } from "../core/types.ts";

/** Everything a kv-node process is configured with. */
export interface KvNodeConfig {
  /** This node's id; must be one of the `peers`. */
  readonly id: NodeId;
  /** Data directory: `raft/` (LevelDB log) and `snapshots/` live under it. */
  readonly dataDir: string;
  /** Interface for both listeners. Loopback by default: this is an example, not a hardened server. */
  readonly host: string;
  /** Port of the peer (WebSocket) listener; defaults to this node's port in `peers`. */
  readonly peerPort: number;
  /** Port of the HTTP API; 0 picks a free one (printed in the ready line). */
  readonly httpPort: number;
  /** Every voter of the initial cluster (including this node) → `host:port` of its peer listener. */
  readonly peers: ReadonlyMap<NodeId, string>;
  /** Shared cluster secret (≥ 16 bytes); `--secret` or RAFTBUS_SECRET. */
  readonly secret: string;
  readonly clusterId: string;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Snapshot (and compact the log) every this many applied entries. */
  readonly snapshotEntries: number;
  /** Log entries kept below a snapshot for slightly lagging followers. */
  readonly trailingEntries: number;
  /** Snapshot data per wire chunk. */
  readonly snapshotChunkBytes: number;
  readonly proposalTimeoutMs: number;
  /** SIGTERM: leader transfer plus shutdown must finish within this, or the process exits 1. */
  readonly shutdownTimeoutMs: number;
}

/** A bad command line. The process prints the message and the usage, and exits with EXIT_USAGE. */
export class KvUsageError extends Error {
  override readonly name = "KvUsageError";
  /** Stable code. */
  readonly code = "USAGE";
}

/** How to call the node. */
export const KV_NODE_USAGE = `usage: kv-node --id ID --data DIR --peers ID=HOST:PORT,... [--secret S | RAFTBUS_SECRET=S]
               [--peer-port N] [--http-port N] [--host 127.0.0.1] [--cluster-id kv]
               [--tick-ms 50] [--election-ticks 10] [--heartbeat-ticks 1]
               [--snapshot-entries 10000] [--trailing-entries 1000] [--snapshot-chunk-bytes 262144]
               [--proposal-timeout-ms 10000] [--shutdown-timeout-ms 10000]`;

/** Parses and validates `argv` (without the node and script paths). Throws KvUsageError. */
export function parseKvNodeArgs(argv: readonly string[], env: NodeJS.ProcessEnv): KvNodeConfig {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: Object.fromEntries(FLAGS.map((f) => [f, { type: "string" as const }])),
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | undefined>;
  } catch (err) {
    throw new KvUsageError(err instanceof Error ? err.message : String(err));
  }
  const id = required(values, "id");
  const peers = parsePeers(required(values, "peers"));
  const self = peers.get(id);
  if (self === undefined) throw new KvUsageError(`--peers must include this node (${id})`);
  const selfPort = Number(self.slice(self.lastIndexOf(":") + 1));
  const peerPort = int(values, "peer-port", selfPort, 1, 65_535);
  if (peerPort !== selfPort) throw new KvUsageError(`--peer-port ${peerPort} disagrees with --peers (${id}=${self})`);
  const secret = values["secret"] ?? env["RAFTBUS_SECRET"];
  if (secret === undefined || Buffer.byteLength(secret) < 16) {
    throw new KvUsageError("a cluster secret of at least 16 bytes is required (--secret or RAFTBUS_SECRET)");
  }
  const electionTicks = int(values, "election-ticks", 10, 2, 10_000);
  const heartbeatTicks = int(values, "heartbeat-ticks", 1, 1, 10_000);
  if (heartbeatTicks >= electionTicks) {
    throw new KvUsageError(`--heartbeat-ticks (${heartbeatTicks}) must be below --election-ticks (${electionTicks})`);
  }
  return {
    id,
    dataDir: required(values, "data"),
    host: values["host"] ?? "127.0.0.1",
    peerPort,
    httpPort: int(values, "http-port", 0, 0, 65_535),
    peers,
    secret,
    clusterId: values["cluster-id"] ?? "kv",
    tickMs: int(values, "tick-ms", 50, 1, 60_000),
    electionTicks,
    heartbeatTicks,
    snapshotEntries: int(values, "snapshot-entries", 10_000, 1, 100_000_000),
    trailingEntries: int(values, "trailing-entries", 1_000, 0, 100_000_000),
    snapshotChunkBytes: int(values, "snapshot-chunk-bytes", 256 * 1024, 1, 4 * 1024 * 1024 - 16 * 1024),
    proposalTimeoutMs: int(values, "proposal-timeout-ms", 10_000, 1, 3_600_000),
    shutdownTimeoutMs: int(values, "shutdown-timeout-ms", 10_000, 1, 3_600_000),
  };
}

const FLAGS = [
  "id", "data", "host", "peer-port", "http-port", "peers", "secret", "cluster-id", "tick-ms",
  "election-ticks", "heartbeat-ticks", "snapshot-entries", "trailing-entries", "snapshot-chunk-bytes",
  "proposal-timeout-ms", "shutdown-timeout-ms",
] as const;

function required(values: Record<string, string | undefined>, name: string): string {
  const v = values[name];
  if (v === undefined || v.length === 0) throw new KvUsageError(`--${name} is required`);
  return v;
}

function int(values: Record<string, string | undefined>, name: string, dflt: number, min: number, max: number): number {
  const raw = values[name];
  if (raw === undefined) return dflt;
  const v = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new KvUsageError(`--${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
  }
  return v;
}

/** `n1=127.0.0.1:7101,n2=127.0.0.1:7102` → map; ids unique, every address host:port. */
export function parsePeers(spec: string): Map<NodeId, string> {
  const peers = new Map<NodeId, string>();
  for (const item of spec.split(",")) {
    const m = /^([^=\s]+)=([^:\s]+):(\d+)$/.exec(item.trim());
    if (m === null) throw new KvUsageError(`--peers: ${JSON.stringify(item)} is not ID=HOST:PORT`);
    const [, id, host, port] = m as unknown as [string, string, string, string];
    if (Number(port) < 1 || Number(port) > 65_535) throw new KvUsageError(`--peers: port of ${id} out of range`);
    if (peers.has(id)) throw new KvUsageError(`--peers: ${id} appears twice`);
    peers.set(id, `${host}:${port}`);
  }
  return peers;
}

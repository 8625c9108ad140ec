/**
 * The composition root of the example key-value node: LevelDB storage and
 * a file snapshot store under the data directory, the WebSocket peer
 * transport wired to the store for snapshot transfer, the Raft driver, the
 * replicated map and its HTTP API. `startKvNode` builds and starts it;
 * the returned handle shuts it down in the right order.
 */
import { mkdir } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { pino } from "pino";
import type { Logger } from "../logging.ts";
import { createNodeLogger } from "../logging.ts";
import { RaftNode } from "../node/raft-node.ts";
import type { SnapshotReceiveCounters } from "../node/counting-snapshot-sink.ts";
import { countingSnapshotSink } from "../node/counting-snapshot-sink.ts";
import { snapshotSinkFor, snapshotSourceFor } from "../node/snapshot-wiring.ts";
import { StorageError } from "../storage/errors.ts";
import { LevelStorage } from "../storage/level-storage.ts";
import { FileSnapshotStore } from "../storage/snapshot-store-file.ts";
import type { TransportStats } from "../transport/transport.ts";
import { WsTransport } from "../transport/ws-transport.ts";
import { createKvHttpServer } from "./kv-http.ts";
import type { KvNodeConfig } from "./kv-node-config.ts";
import type { KvResult } from "./kv-state-machine.ts";
import { KvStateMachine } from "./kv-state-machine.ts";

/** A running kv node. */
export interface KvNodeHandle {
  readonly node: RaftNode<KvResult | undefined>;
  readonly kv: KvStateMachine;
  readonly storage: LevelStorage;
  readonly transport: WsTransport;
  readonly http: Server;
  readonly httpPort: number;
  readonly peerPort: number;
  readonly snapshotReceive: SnapshotReceiveCounters;
  /** Status as served by GET /status. */
  status(): KvNodeStatus;
  /**
   * Graceful stop: hand leadership to the most caught-up voter (if leading),
   * stop the driver (pending requests fail with SHUTTING_DOWN), close the
   * HTTP server, storage and snapshot store. Idempotent.
   */
  shutdown(): Promise<void>;
}

/** What GET /status returns. */
export type KvNodeStatus = ReturnType<RaftNode["status"]> & {
  readonly stats: RaftNode["stats"];
  readonly kv: { readonly appliedIndex: number; readonly size: number };
  readonly snapshotIndex: number;
  readonly snapshotReceive: SnapshotReceiveCounters;
  readonly transport: JsonTransportStats;
  readonly pid: number;
};

/** TransportStats with the peer map as a plain object (JSON has no Map). */
export type JsonTransportStats = Omit<TransportStats, "peers"> & { readonly peers: Record<string, unknown> };

/** Exit codes of the kv-node process (the table is in kv-node.ts). */
export const EXIT = {
  ok: 0, crashed: 1, wrongNode: 2, corrupt: 3, storage: 4, bind: 5, usage: 64,
} as const;

/** The exit code and one-line message for a start-up failure. */
export function startupFailure(err: unknown): { code: number; message: string } {
  if (err instanceof StorageError) {
    const code = err.code === "STORAGE_WRONG_NODE" ? EXIT.wrongNode : err.code === "STORAGE_CORRUPT" ? EXIT.corrupt : EXIT.storage;
    return { code, message: `${err.code}: ${err.message}` };
  }
  const sys = (err as { code?: unknown } | null)?.code;
  if (sys === "EADDRINUSE" || sys === "EACCES" || sys === "EADDRNOTAVAIL") {
    return { code: EXIT.bind, message: `cannot bind a port: ${err instanceof Error ? err.message : String(err)}` };
  }
  return { code: EXIT.crashed, message: `unexpected failure: ${err instanceof Error ? err.stack ?? err.message : String(err)}` };
}

/** The kv node's logger: pino JSON lines on stderr, tagged with the node id. */
export function stderrLogger(id: string): Logger {
  return createNodeLogger({ level: "info", base: { node: id }, destination: pino.destination(2) }).root;
}

/**
 * Opens storage (StorageError on a wrong or corrupt directory, before any
 * port is bound), then starts the transport, the driver and the HTTP API.
 * Everything opened so far is closed again if a later step fails.
 */
export async function startKvNode(cfg: KvNodeConfig, logger: Logger): Promise<KvNodeHandle> {
  await mkdir(cfg.dataDir, { recursive: true });
  const storage = await LevelStorage.open(path.join(cfg.dataDir, "raft"), {
    nodeId: cfg.id, clusterId: cfg.clusterId, bootstrap: { voters: [...cfg.peers.keys()].sort(), learners: [] },
  });
  const closers: (() => Promise<void>)[] = [() => storage.close()];
  try {
    const snapshots = await FileSnapshotStore.load(path.join(cfg.dataDir, "snapshots"));
    closers.unshift(() => snapshots.close());
    const { sink, counters } = countingSnapshotSink(snapshotSinkFor(snapshots));
    const transport = new WsTransport({
      nodeId: cfg.id, clusterId: cfg.clusterId, clusterSecret: cfg.secret, host: cfg.host, port: cfg.peerPort,
      peers: cfg.peers, snapshotSource: snapshotSourceFor(snapshots), snapshotSink: sink,
      snapshotChunkBytes: cfg.snapshotChunkBytes, onError: (err) => logger.warn({ err }, "transport recovered from an error"),
    });
    const kv = new KvStateMachine();
    const node = new RaftNode<KvResult | undefined>({
      id: cfg.id, storage, snapshots, transport, stateMachine: kv, logger,
      raft: { electionTicks: cfg.electionTicks, heartbeatTicks: cfg.heartbeatTicks },
      tickMs: cfg.tickMs, snapshotEntries: cfg.snapshotEntries, trailingEntries: cfg.trailingEntries,
      proposalTimeoutMs: cfg.proposalTimeoutMs,
    });
    node.onLeaderChange((soft) => logger.info({ ...soft }, "leadership changed"));
    await node.start();
    closers.unshift(() => node.stop());
    const status = (): KvNodeStatus => ({
      ...node.status(), stats: { ...node.stats }, kv: { appliedIndex: kv.appliedIndex(), size: kv.size() },
      snapshotIndex: storage.snapshot().index, snapshotReceive: { ...counters },
      transport: jsonStats(transport.stats()), pid: process.pid,
    });
    const http = createKvHttpServer({ node, kv, status, snapshotIndex: () => storage.snapshot().index, logger });
    await listen(http, cfg.httpPort, cfg.host);
    return handle({ node, kv, storage, transport, http, snapshotReceive: counters, status, closers, logger });
  } catch (err) {
    await closeAll(closers, logger);
    throw err;
  }
}

interface Parts {
  readonly node: RaftNode<KvResult | undefined>;
  readonly kv: KvStateMachine;
  readonly storage: LevelStorage;
  readonly transport: WsTransport;
  readonly http: Server;
  readonly snapshotReceive: SnapshotReceiveCounters;
  readonly status: () => KvNodeStatus;
  /** Closes what start-up opened, newest first (driver, snapshot store, storage). */
  readonly closers: (() => Promise<void>)[];
  readonly logger: Logger;
}

function handle(p: Parts): KvNodeHandle {
  let stopping: Promise<void> | undefined;
  const shutdown = async (): Promise<void> => {
    await handOffLeadership(p.node, p.logger);
    await p.node.stop(); // in-flight requests now fail with SHUTTING_DOWN and get their 503
    await new Promise<void>((resolve) => {
      p.http.close(() => resolve());
      p.http.closeAllConnections();
    });
    await closeAll(p.closers, p.logger);
  };
  return {
    node: p.node, kv: p.kv, storage: p.storage, transport: p.transport, http: p.http,
    httpPort: (p.http.address() as AddressInfo).port, peerPort: p.transport.port,
    snapshotReceive: p.snapshotReceive, status: p.status,
    shutdown: () => (stopping ??= shutdown()),
  };
}

/** A leader that is about to stop hands over first, so the cluster does not wait out an election timeout. */
async function handOffLeadership(node: RaftNode<KvResult | undefined>, logger: Logger): Promise<void> {
  if (!node.isLeader()) return;
  const s = node.status();
  const candidates = s.peers.filter((p) => p.id !== node.id && !p.isLearner).sort((a, b) => b.match - a.match);
  const target = candidates[0];
  if (target === undefined) return;
  try {
    await node.transferLeader(target.id);
    logger.info({ to: target.id }, "leadership handed over before stopping");
  } catch (err) {
    logger.warn({ err, to: target.id }, "leader transfer before stopping failed; stopping anyway");
  }
}

async function closeAll(closers: readonly (() => Promise<void>)[], logger: Logger): Promise<void> {
  for (const close of closers) {
    try {
      await close();
    } catch (err) {
      logger.error({ err }, "closing a component failed");
    }
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function jsonStats(s: TransportStats): JsonTransportStats {
  return { ...s, peers: Object.fromEntries(s.peers) };
}

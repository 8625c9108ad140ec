/**
 * The composition root: the one place that builds a node out of its parts
 * and the only place that uses tsyringe. Parts that open files are opened
 * first (async) and registered as values; the rest are factories.
 */
import "reflect-metadata";
import { join } from "node:path";
import { container, instanceCachingFactory } from "tsyringe";
import type { DependencyContainer } from "tsyringe";
import { BrokerStateMachine, ClusterUpkeep, DEFAULT_CONFIG, LeaderDuties, NodeMetrics, NodeServer, brokerHandlers, nodeToken, resolveAdminCredential } from "@raftbus/broker";
import type { HandlerTable, NodeConfig, NodeTls } from "@raftbus/broker";
import { FileSnapshotStore, LevelStorage, RaftNode, WsTransport, createNodeLogger, snapshotSinkFor, snapshotSourceFor, unsafe } from "@raftbus/raft";
import type { NodeLoggers, SnapshotStore, Transport, WritableStorage } from "@raftbus/raft";
import { SysForwardClient } from "./sys-forward-client.ts";
import { TOKENS } from "./tokens.ts";

/** Most committed-entry bytes the Raft driver hands the broker per Ready (see the RaftNode registration). */
const APPLY_BYTES_PER_READY_MAX = 1024 * 1024;

/** The node's loggers from its config: one pino root, a child per component. */
export function nodeLoggers(config: NodeConfig): NodeLoggers {
  return createNodeLogger({ level: config.logLevel, levels: config.logLevels, base: { node: config.id } });
}

/** Open the node's stores and wire every part; the caller starts the returned server. */
export async function composeNode(config: NodeConfig, loggers: NodeLoggers = nodeLoggers(config), opts: { readonly joining?: boolean; readonly tls?: NodeTls } = {}): Promise<NodeServer> {
  const c: DependencyContainer = container.createChildContainer();
  c.register(TOKENS.Config, { useValue: config });
  c.register(TOKENS.Logger, { useValue: loggers });
  const logger = loggers.component("node");
  const metrics = new NodeMetrics({ nodeId: config.id, dataDir: config.dataDir });
  // The node's own client credential (follower → leader event forwarding), derived from the cluster secret.
  const forwarder = new SysForwardClient(config.id, config.peers, nodeToken(config.clusterSecret, config.clusterId, config.id), opts.tls);
  // Throws ConfigError (exit 2) for an unreadable admin token; writes <dataDir>/admin.token on a first start.
  const admin = resolveAdminCredential(config);
  if (admin?.generated === true) logger.warn({ file: admin.source }, "generated the admin token (first start); keep this file private, or set RAFTBUS_ADMIN_TOKEN / adminTokenFile");
  else if (admin !== undefined) logger.info({ source: admin.source === "adminToken" ? "adminToken" : admin.source }, "admin token loaded");
  if (config.auth === "open") logger.warn("auth open: clients are not authenticated and may do anything (development only)");

  const storage = await LevelStorage.open(join(config.dataDir, "raft"), {
    nodeId: config.id,
    clusterId: config.clusterId,
    // A new node joining a running cluster starts in no configuration: the leader's log
    // (or snapshot) gives it one. Any other new node starts the cluster its peer list names.
    bootstrap: opts.joining === true ? { voters: [], learners: [] } : { voters: config.peers.map((p) => p.id).sort(), learners: [] },
  });
  c.register(TOKENS.Storage, { useValue: storage });
  c.register(TOKENS.Snapshots, { useValue: await FileSnapshotStore.load(join(config.dataDir, "snapshots")) });
  c.register(TOKENS.StateMachine, {
    useValue: await BrokerStateMachine.open(join(config.dataDir, "broker"), {
      strictTopics: config.strictTopics,
      limits: { ...DEFAULT_CONFIG.limits, payloadBytesMax: config.maxPayloadBytes },
      clusterVersionMax: config.clusterVersionMax,
    }),
  });

  c.register(TOKENS.Transport, {
    useFactory: instanceCachingFactory((d) => {
      const snapshots = d.resolve<SnapshotStore>(TOKENS.Snapshots);
      const broker = d.resolve<BrokerStateMachine>(TOKENS.StateMachine);
      return new WsTransport({
        nodeId: config.id,
        clusterId: config.clusterId,
        clusterSecret: config.clusterSecret,
        host: config.host,
        port: config.peerPort,
        peers: new Map(config.peers.map((p) => [p.id, `${p.host}:${p.peerPort}`])),
        pendingConnectionsMax: config.peerHandshakesMax,
        // Mutual TLS between peers when the node runs TLS: the node's certificate both ways, the cluster CA to check.
        ...(opts.tls !== undefined ? { tls: opts.tls } : {}),
        pendingConnectionsPerAddressMax: Math.min(config.peerHandshakesPerAddressMax, config.peerHandshakesMax),
        snapshotSource: snapshotSourceFor(snapshots),
        // A received snapshot is read through the broker's decoder before Raft installs it.
        snapshotSink: snapshotSinkFor(snapshots, (meta, chunks) => broker.verifySnapshot(meta, chunks)),
        onError: (err) => {
          const log = loggers.component("transport");
          const code = (err as { code?: unknown }).code;
          if (code === "SNAPSHOT_INVALID") log.error({ code, err: err.message }, "received snapshot refused");
          else log.warn({ err: err.message }, "peer transport error");
        },
      });
    }),
  });
  c.register(TOKENS.RaftNode, {
    useFactory: instanceCachingFactory((d) => new RaftNode({
      id: config.id,
      storage: d.resolve<WritableStorage>(TOKENS.Storage),
      snapshots: d.resolve<SnapshotStore>(TOKENS.Snapshots),
      transport: d.resolve<Transport>(TOKENS.Transport),
      stateMachine: d.resolve<BrokerStateMachine>(TOKENS.StateMachine),
      raft: {
        electionTicks: config.electionTicks, heartbeatTicks: config.heartbeatTicks,
        // The driver sends the heartbeats that ticks produced between Readies, not during an apply:
        // hand the broker at most 1 MiB of committed entries at a time (publish entries are at most
        // 1 MiB / 256 messages, publish/coalescer.ts), so a backlog of large batches is applied in
        // slices with heartbeats in between instead of one 16 MiB apply holding every node's loop.
        applyBytesMax: APPLY_BYTES_PER_READY_MAX,
        // Test-only (chaos "it bites" tests): acknowledge before a majority has the entry.
        ...(unsafe("ack-before-commit") ? { unsafeFaults: { commitAlone: true } } : {}),
      },
      tickMs: config.tickMs,
      snapshotEntries: config.snapshotEntries,
      snapshotBytes: config.snapshotBytes,
      trailingEntries: config.trailingEntries,
      logger: loggers.component("raft"),
      observer: metrics.raftObserver,
    })),
  });
  c.register(TOKENS.Handlers, { useValue: brokerHandlers() satisfies HandlerTable });
  c.register(TOKENS.NodeServer, {
    useFactory: instanceCachingFactory((d) => {
      const raft = d.resolve<RaftNode<unknown>>(TOKENS.RaftNode);
      const broker = d.resolve<BrokerStateMachine>(TOKENS.StateMachine);
      let duties: LeaderDuties | undefined;
      let upkeep: ClusterUpkeep | undefined;
      const server: NodeServer = new NodeServer({
        config,
        raft,
        storage: d.resolve<WritableStorage>(TOKENS.Storage),
        snapshots: d.resolve<SnapshotStore>(TOKENS.Snapshots),
        stateMachine: broker,
        handlers: d.resolve<HandlerTable>(TOKENS.Handlers),
        logger,
        sessionLogger: loggers.component("session"),
        metrics,
        loggers,
        peerAuthFailures: () => d.resolve<Transport>(TOKENS.Transport).stats().authFailures,
        sysForwarder: forwarder,
        ...(admin !== undefined ? { adminTokenHash: admin.tokenHash } : {}),
        ...(opts.tls !== undefined ? { tls: opts.tls } : {}),
        onLeadership: (leading) => {
          duties?.stop();
          duties = leading ? new LeaderDuties({ config, raft, broker, server, logger: loggers.component("duties") }) : undefined;
          duties?.start();
          upkeep?.stop();
          upkeep = leading ? new ClusterUpkeep({ config, raft, broker, server, logger: loggers.component("duties") }) : undefined;
          upkeep?.start();
        },
      });
      raft.onConfApplied((entry) => server.onConfApplied(entry));
      forwarder.attach(server);
      const transport = d.resolve<Transport>(TOKENS.Transport);
      server.onMembersChanged = (members) => transport.setPeers(new Map([...members.values()].map((p) => [p.id, `${p.host}:${p.peerPort}`])));
      return server;
    }),
  });
  return c.resolve<NodeServer>(TOKENS.NodeServer);
}

/**
 * `raftbus node start`: one node, configured from flags, a JSON config file
 * and RAFTBUS_* variables; stops cleanly on SIGTERM/SIGINT.
 */
import { readFileSync } from "node:fs";
import type { Argv } from "yargs";
import {
  ConfigError, DEV_CLUSTER_SECRET, LIMIT_DEFAULTS, TlsFilesError, configFromEnv, configWarnings, loadTls, nodeToken, resolveNodeConfig, storageCorruption, unsupportedEntry,
} from "@raftbus/broker";
import type { LimitsConfig, NodeConfig, NodeServer, NodeTls } from "@raftbus/broker";
import { StorageError, UnsafeSwitchError, parseUnsafeSwitches } from "@raftbus/raft";
import type { NodeLoggers } from "@raftbus/raft";
import { composeNode, nodeLoggers } from "../composition/root.ts";
import { joinCluster } from "../node/join.ts";
import { EXIT } from "../util/exit-codes.ts";

/** Flags of `node start`, each mapping onto a config key. */
export function nodeStartOptions(y: Argv): Argv {
  return y
    .option("config", { type: "string", describe: "JSON config file (flags and RAFTBUS_* variables override it)" })
    .option("id", { type: "string", describe: "node id, e.g. n1" })
    .option("data-dir", { type: "string", describe: "where this node keeps its data" })
    .option("host", { type: "string", describe: "interface to bind (default 127.0.0.1)" })
    .option("client-port", { type: "number", describe: "client WebSocket + HTTP port (default 7001)" })
    .option("peer-port", { type: "number", describe: "Raft peer port (default 7101)" })
    .option("peers", { type: "string", describe: "whole cluster: n1=host:peerPort:clientPort,n2=… (not needed with --join)" })
    .option("join", { type: "string", describe: "join a running cluster through any member's client address (empty data dir: added as a learner, promoted to voter once caught up)" })
    .option("cluster-id", { type: "string" })
    .option("cluster-secret", { type: "string", describe: "shared secret (≥ 16 chars) for peer authentication" })
    .option("tick-ms", { type: "number" })
    .option("election-ticks", { type: "number" })
    .option("snapshot-entries", { type: "number" })
    .option("trailing-entries", { type: "number", describe: "entries kept below a snapshot for followers a little behind (default 1000)" })
    .option("snapshot-bytes", { type: "string", describe: "also snapshot once the log since the last one holds this much, e.g. 64MiB" })
    .option("max-payload-bytes", { type: "string", describe: "e.g. 1MiB" })
    .option("strict-topics", { type: "boolean" })
    .option("session-timeout", { type: "string", describe: "e.g. 30s" })
    .option("log-level", { type: "string", describe: "default level: trace, debug, info, warn, error, silent" })
    .option("log-levels", { type: "string", describe: "per component, e.g. raft=debug,session=debug" })
    .option("sys", { type: "string", describe: "system-event settings as JSON, e.g. '{\"health\":{\"periodic\":true}}'" })
    .option("cluster-version-max", { type: "number", describe: "behave as a build implementing cluster versions up to this (upgrade rehearsals; default: this build's)" })
    .option("auth", { type: "string", describe: "client authentication: token (default) or open (development, loopback only)" })
    .option("admin-token-file", { type: "string", describe: "file holding the admin's token (default <data-dir>/admin.token, made on first start) [env RAFTBUS_ADMIN_TOKEN for the token itself]" })
    .option("allowed-origins", { type: "string", describe: "browser origins that may open a WebSocket, comma-separated, or * (default: the members' client addresses)" })
    .option("tls-cert", { type: "string", describe: "this node's certificate (PEM file): https/wss on the client port, mutual TLS between peers" })
    .option("tls-key", { type: "string", describe: "its private key (PEM file)" })
    .option("tls-ca", { type: "string", describe: "the CA (PEM file) that signs every member's certificate" })
    .options(limitOptions());
}

/** `--connections-max` … : one flag per limit (README "Limits"), as a string so sizes and durations parse. */
function limitOptions(): Record<string, { type: "string"; describe: string; group: string }> {
  const out: Record<string, { type: "string"; describe: string; group: string }> = {};
  for (const key of Object.keys(LIMIT_DEFAULTS) as (keyof LimitsConfig)[]) {
    out[kebab(key)] = { type: "string", describe: `default ${String(LIMIT_DEFAULTS[key])}`, group: "Limits:" };
  }
  return out;
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Build the config from the three sources (later wins). */
export function configFromArgs(args: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const file = typeof args["config"] === "string" ? (JSON.parse(readFileSync(args["config"], "utf8")) as Record<string, unknown>) : {};
  const flags: Record<string, unknown> = {
    id: args["id"], dataDir: args["data-dir"], host: args["host"], clientPort: args["client-port"], peerPort: args["peer-port"],
    peers: args["peers"], clusterId: args["cluster-id"], clusterSecret: args["cluster-secret"], tickMs: args["tick-ms"],
    electionTicks: args["election-ticks"], snapshotEntries: args["snapshot-entries"], snapshotBytes: args["snapshot-bytes"], trailingEntries: args["trailing-entries"], maxPayloadBytes: args["max-payload-bytes"],
    strictTopics: args["strict-topics"], sessionTimeoutMs: args["session-timeout"], logLevel: args["log-level"],
    logLevels: args["log-levels"], sys: args["sys"], clusterVersionMax: args["cluster-version-max"],
    auth: args["auth"], adminTokenFile: args["admin-token-file"], allowedOrigins: args["allowed-origins"],
    tlsCert: args["tls-cert"], tlsKey: args["tls-key"], tlsCa: args["tls-ca"],
  };
  for (const key of Object.keys(LIMIT_DEFAULTS)) flags[key] = args[kebab(key)];
  // A flag given twice means the last one wins (yargs would hand us an array).
  for (const [k, v] of Object.entries(flags)) if (Array.isArray(v)) flags[k] = v[v.length - 1];
  const fromEnv = configFromEnv(env);
  const config = resolveNodeConfig(file, fromEnv, flags);
  if (joinAddress(args) === undefined || flags["peers"] !== undefined || fromEnv["peers"] !== undefined || file["peers"] !== undefined) return config;
  // A joining node needs no peer list: it starts knowing itself and learns the members from the cluster.
  return resolveNodeConfig(file, fromEnv, { ...flags, peers: `${config.id}=${config.host}:${config.peerPort}:${config.clientPort}` });
}

/** The --join address, when given. */
function joinAddress(args: Record<string, unknown>): string | undefined {
  const v = Array.isArray(args["join"]) ? (args["join"] as unknown[])[(args["join"] as unknown[]).length - 1] : args["join"];
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** Longest a graceful stop may take before the process exits anyway. */
const STOP_DEADLINE_MS = 20_000;

/** Run a node until a signal stops it. */
export async function nodeStart(args: Record<string, unknown>): Promise<number> {
  let config: NodeConfig;
  let tls: NodeTls | undefined;
  try {
    config = configFromArgs(args);
    tls = loadTls(config);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof TlsFilesError || err instanceof SyntaxError) {
      process.stderr.write(`raftbus node start: ${err.message}\n`);
      return EXIT.USAGE;
    }
    throw err;
  }
  try {
    const switches = parseUnsafeSwitches(process.env);
    if (switches.size > 0) {
      process.stderr.write(`\n!!! RAFTBUS UNSAFE MODE (${[...switches].join(", ")}): this node breaks raftbus's promises on purpose, for chaos tests. NEVER USE IT FOR REAL DATA. !!!\n\n`);
    }
  } catch (err) {
    if (!(err instanceof UnsafeSwitchError)) throw err;
    process.stderr.write(`raftbus node start: ${err.message}\n`);
    return EXIT.USAGE;
  }
  for (const w of configWarnings(config)) process.stderr.write(`raftbus: warning: ${w}\n`);
  if (config.clusterSecret === DEV_CLUSTER_SECRET) {
    // Accepted on loopback only (config validation refuses it anywhere else).
    process.stderr.write("raftbus: warning: using the development cluster secret (loopback only); set RAFTBUS_CLUSTER_SECRET for real deployments\n");
  }
  let server;
  const join = joinAddress(args);
  const loggers = nodeLoggers(config);
  try {
    server = await composeNode(config, loggers, { joining: join !== undefined, ...(tls !== undefined ? { tls } : {}) });
    await server.start();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`raftbus node start: ${err.message}\n`);
      return EXIT.USAGE;
    }
    if (err instanceof StorageError) {
      process.stderr.write(`raftbus node start: ${err.code}: ${err.message}\n`);
      return err.code === "STORAGE_TOO_NEW" ? EXIT.UPGRADE : EXIT.DATA;
    }
    if (err instanceof Error && "code" in err && err.code === "EADDRINUSE") {
      process.stderr.write(`raftbus node start: ${err.message}: another process uses this port; pick other ports or stop it\n`);
      return EXIT.USAGE;
    }
    throw err;
  }
  exitOnFatal(config.id);
  const joining = new AbortController();
  if (join !== undefined) void startJoin(server, config, join, loggers, joining.signal, tls);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        process.stderr.write(`raftbus: ${signal} again: exiting without waiting\n`);
        process.exit(EXIT.FAILED);
      }
      stopping = true;
      joining.abort();
      process.stderr.write(`raftbus: ${signal}: stopping node ${config.id}\n`);
      // Everything acknowledged is on disk already: a stop that hangs may be cut.
      setTimeout(() => {
        process.stderr.write(`raftbus: node ${config.id} did not stop within ${STOP_DEADLINE_MS} ms; exiting\n`);
        process.exit(EXIT.FAILED);
      }, STOP_DEADLINE_MS).unref();
      server.stop().then(() => resolve(EXIT.OK), (err: unknown) => {
        process.stderr.write(`raftbus: error while stopping: ${String(err)}\n`);
        resolve(EXIT.FAILED);
      });
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });
}

/** Runs the join (node/join.ts) beside the running node, logging what it does. */
async function startJoin(server: NodeServer, config: NodeConfig, join: string, loggers: NodeLoggers, signal: AbortSignal, tls: NodeTls | undefined): Promise<void> {
  const log = loggers.component("node");
  const outcome = await joinCluster({
    self: { id: config.id, host: config.host, peerPort: config.peerPort, clientPort: config.clientPort },
    join,
    localRole: () => server.localRole(),
    learnMembers: (members) => server.learnMembers(members),
    log: (level, msg, fields) => log[level]({ join, ...fields }, msg),
    signal,
    token: nodeToken(config.clusterSecret, config.clusterId, config.id),
    ...(tls !== undefined ? { tlsCa: tls.ca } : {}),
  });
  if (outcome === "voter") log.info({ join }, "a voting member of the cluster");
}

/**
 * A failure nothing handles (the Raft driver stops itself and rethrows when
 * storage or the state machine fails) ends the process: exit 3 when data on
 * disk failed verification, so a supervisor and an operator can tell damage
 * from a bug; exit 6 when the log holds an entry this build is too old to
 * apply (upgrade the node); exit 1 otherwise.
 */
function exitOnFatal(nodeId: string): void {
  const fatal = (err: unknown) => {
    const corrupt = storageCorruption(err);
    if (corrupt !== undefined) {
      process.stderr.write(`raftbus node ${nodeId}: ${corrupt.code}: ${corrupt.message}\n`);
      process.exit(EXIT.DATA);
    }
    const refused = unsupportedEntry(err);
    if (refused !== undefined) {
      process.stderr.write(`raftbus node ${nodeId}: ${refused.code}: ${refused.message}\n`);
      process.exit(EXIT.UPGRADE);
    }
    process.stderr.write(`raftbus node ${nodeId}: unexpected error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(EXIT.FAILED);
  };
  process.on("uncaughtException", fatal);
  process.on("unhandledRejection", fatal);
}

/**
 * A node's configuration: from defaults, a JSON config file, RAFTBUS_*
 * environment variables and command-line flags (later sources win),
 * validated once at start with messages that say what to fix
 * (STYLE.md practice 5). The docker compose file is checked against the
 * same schema.
 */

import { LOG_LEVELS, isLogLevel, parseLogLevels } from "@raftbus/raft";
import type { LogComponent, LogLevel } from "@raftbus/raft";
import { validateOverrides } from "../sys/families.ts";
import type { SysOverrides } from "../sys/families.ts";
import { BASE_CLUSTER_VERSION, BUILD_CLUSTER_VERSION } from "../version/cluster-version.ts";
import { LIMIT_DEFAULTS, LIMIT_FIELDS, validateLimits } from "./limits-config.ts";
import type { LimitsConfig } from "./limits-config.ts";
import { AUTH_DEFAULTS, AUTH_FIELDS, validateAuth } from "./auth/auth-config.ts";
import type { AuthConfig } from "./auth/auth-config.ts";
import { DEV_CLUSTER_SECRET, secretProblem } from "./secret-rules.ts";
import { tlsProblems } from "./tls.ts";

/** One member of the cluster as the static peer list names it. */
export interface PeerSpec {
  readonly id: string;
  readonly host: string;
  /** Port of the Raft peer transport. */
  readonly peerPort: number;
  /** Port of the client WebSocket + HTTP endpoint. */
  readonly clientPort: number;
}

/** Everything a node needs to start (the limits are in limits-config.ts). */
export interface NodeConfig extends LimitsConfig, AuthConfig {
  readonly id: string;
  readonly dataDir: string;
  /** Interface to bind both ports on. */
  readonly host: string;
  readonly clientPort: number;
  readonly peerPort: number;
  /** The cluster's members at bootstrap (this node included). */
  readonly peers: readonly PeerSpec[];
  readonly clusterId: string;
  /** Shared secret for peer authentication and system-event signing; ≥ 16 characters, no placeholder (secret-rules.ts). */
  readonly clusterSecret: string;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Take a Raft snapshot every this many applied entries. */
  readonly snapshotEntries: number;
  /** ...or once the entries since the last one hold this many bytes (the log between snapshots is held in memory). */
  readonly snapshotBytes: number;
  /** Entries kept below a snapshot, so a follower a little behind catches up from the log rather than a snapshot. */
  readonly trailingEntries: number;
  readonly maxPayloadBytes: number;
  /** Refuse publishes to topics that were not created first. */
  readonly strictTopics: boolean;
  /** A client session silent this long expires with its ephemeral subscriptions. */
  readonly sessionTimeoutMs: number;
  /** How often the leader writes a time entry (TTL, retention by age, ack timeouts). */
  readonly timeTickMs: number;
  /** Default level of every log component. */
  readonly logLevel: LogLevel;
  /** Per-component levels, e.g. `raft=debug,transport=warn` (components: see LOG_COMPONENTS). */
  readonly logLevels: Partial<Record<LogComponent, LogLevel>>;
  /**
   * The cluster secret being rotated out ("" when none): system events
   * forwarded under it are still accepted (docs/system-events.md §Key rotation).
   */
  readonly clusterSecretPrevious: string;
  /**
   * System-event settings per family, e.g. `{"health":{"intervalMs":10000,"periodic":true}}`;
   * runtime changes (`raftbus sys set`) override them cluster-wide.
   */
  readonly sys: SysOverrides;
  /**
   * The highest cluster version this node implements: the build's by
   * default; lower makes it behave as an older release (upgrade rehearsals).
   */
  readonly clusterVersionMax: number;
  /**
   * TLS (tls.ts): this node's certificate chain and key (PEM files). Set,
   * the client port serves https/wss and the peer port mutual TLS; "" for
   * plain text.
   */
  readonly tlsCert: string;
  readonly tlsKey: string;
  /** The CA (PEM file) that signs every member's certificate: required with tlsCert, checked on both sides of a peer link. */
  readonly tlsCa: string;
}

/** The keys a config source may set, with how to parse them from a string. */
const FIELDS = {
  id: "string", dataDir: "string", host: "string", clientPort: "port", peerPort: "port",
  peers: "peers", clusterId: "string", clusterSecret: "string", tickMs: "int", electionTicks: "int",
  heartbeatTicks: "int", snapshotEntries: "int", snapshotBytes: "size", trailingEntries: "int", maxPayloadBytes: "size", strictTopics: "bool",
  sessionTimeoutMs: "duration", timeTickMs: "duration", logLevel: "logLevel", logLevels: "logLevels",
  clusterSecretPrevious: "string", sys: "sys",
  clusterVersionMax: "int", tlsCert: "string", tlsKey: "string", tlsCa: "string",
  ...LIMIT_FIELDS,
  ...AUTH_FIELDS,
} as const;

/** A config key. */
export type ConfigKey = keyof typeof FIELDS;

/** Names of every config key, for docs and the compose-file test. */
export const CONFIG_KEYS: readonly ConfigKey[] = Object.keys(FIELDS) as ConfigKey[];

export { DEV_CLUSTER_SECRET } from "./secret-rules.ts";

const DEFAULTS: Omit<NodeConfig, "id" | "dataDir" | "peers"> = {
  host: "127.0.0.1",
  clientPort: 7001,
  peerPort: 7101,
  clusterId: "raftbus",
  clusterSecret: DEV_CLUSTER_SECRET,
  // etcd's proportions: heartbeat every 100 ms, election timeout 1–2 s, which
  // rides out GC pauses and a busy 2-core box without needless elections.
  tickMs: 100,
  electionTicks: 10,
  heartbeatTicks: 1,
  snapshotEntries: 10_000,
  snapshotBytes: 64 * 1024 * 1024,
  trailingEntries: 1_000,
  maxPayloadBytes: 1024 * 1024,
  strictTopics: false,
  sessionTimeoutMs: 30_000,
  timeTickMs: 500,
  logLevel: "info",
  logLevels: {},
  clusterSecretPrevious: "",
  sys: {},
  clusterVersionMax: BUILD_CLUSTER_VERSION,
  tlsCert: "",
  tlsKey: "",
  tlsCa: "",
  ...LIMIT_DEFAULTS,
  ...AUTH_DEFAULTS,
};

/** A configuration problem, with every issue listed. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "INVALID_CONFIG";
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
  }
}

/** Parse `n1=host:peerPort:clientPort,n2=…`. */
export function parsePeers(text: string): PeerSpec[] {
  const out: PeerSpec[] = [];
  for (const part of text.split(",").map((s) => s.trim()).filter((s) => s.length > 0)) {
    const m = /^([A-Za-z0-9_-]{1,64})=([^:=\s]+):(\d{1,5}):(\d{1,5})$/.exec(part);
    if (m === null) {
      throw new ConfigError([`peer "${part}" is not id=host:peerPort:clientPort (e.g. n1=127.0.0.1:7101:7001)`]);
    }
    out.push({ id: m[1]!, host: m[2]!, peerPort: Number(m[3]), clientPort: Number(m[4]) });
  }
  return out;
}

/** Format a peer list back into its flag form. */
export function formatPeers(peers: readonly PeerSpec[]): string {
  return peers.map((p) => `${p.id}=${p.host}:${p.peerPort}:${p.clientPort}`).join(",");
}

/** Parse durations like `500`, `500ms`, `30s`, `5m`, `2h`, `1d` into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (m === null) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? "ms") as "ms"];
  return Math.round(Number(m[1]) * unit);
}

/** Parse sizes like `1024`, `64KB`, `1MiB`, `50MB` into bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?$/i.exec(text.trim());
  if (m === null) return undefined;
  const units: Record<string, number> = { b: 1, kb: 1000, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 };
  return Math.round(Number(m[1]) * units[(m[2] ?? "b").toLowerCase()]!);
}

type Raw = Partial<Record<ConfigKey, unknown>>;

/** Convert one raw value (from a file, env or flag) to its typed form, or report why not. */
function coerce(key: ConfigKey, value: unknown, problems: string[]): unknown {
  const kind = FIELDS[key];
  const bad = (why: string) => {
    problems.push(`${key}: ${why} (got ${JSON.stringify(value)})`);
    return undefined;
  };
  switch (kind) {
    case "string":
      return typeof value === "string" ? value : bad("must be a string");
    case "bool":
      if (typeof value === "boolean") return value;
      if (value === "true" || value === "1") return true;
      if (value === "false" || value === "0") return false;
      return bad("must be true or false");
    case "int":
    case "port": {
      const n = typeof value === "number" ? value : typeof value === "string" && /^\d+$/.test(value) ? Number(value) : NaN;
      if (!Number.isInteger(n)) return bad("must be a whole number");
      if (kind === "port" && (n < 1 || n > 65535)) return bad("must be a port between 1 and 65535");
      return n;
    }
    case "duration": {
      const n = typeof value === "number" ? value : typeof value === "string" ? parseDuration(value) : undefined;
      return n === undefined ? bad("must be a duration like 500ms, 30s, 5m") : n;
    }
    case "size": {
      const n = typeof value === "number" ? value : typeof value === "string" ? parseSize(value) : undefined;
      return n === undefined ? bad("must be a size like 1MiB or 65536") : n;
    }
    case "logLevel":
      return isLogLevel(value) ? value : bad(`must be one of ${LOG_LEVELS.join(", ")}`);
    case "logLevels":
      if (typeof value === "string") {
        try {
          return parseLogLevels(value);
        } catch (e) {
          return bad(e instanceof Error ? e.message : String(e));
        }
      }
      if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        const text = Object.entries(value).map(([k, v]) => `${k}=${String(v)}`).join(",");
        try {
          return parseLogLevels(text);
        } catch (e) {
          return bad(e instanceof Error ? e.message : String(e));
        }
      }
      return bad("must be component=level,… (e.g. raft=debug,transport=warn)");
    case "sys":
      try {
        return validateOverrides(typeof value === "string" ? JSON.parse(value) : value);
      } catch (e) {
        return bad(e instanceof Error ? e.message : String(e));
      }
    case "peers":
      if (typeof value === "string") {
        try {
          return parsePeers(value);
        } catch (e) {
          return bad(e instanceof ConfigError ? e.problems.join("; ") : String(e));
        }
      }
      if (Array.isArray(value)) return value;
      return bad("must be id=host:peerPort:clientPort,…");
  }
}

/** Read RAFTBUS_* variables: RAFTBUS_CLIENT_PORT → clientPort, RAFTBUS_PEERS → peers… */
export function configFromEnv(env: Readonly<Record<string, string | undefined>>): Raw {
  const out: Raw = {};
  for (const key of CONFIG_KEYS) {
    const name = `RAFTBUS_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
    const v = env[name];
    if (v !== undefined && v !== "") out[key] = v;
  }
  return out;
}

/**
 * Merge the sources (later wins), coerce and validate. Throws ConfigError
 * listing every problem, so an operator fixes them in one go.
 */
export function resolveNodeConfig(...sources: readonly Raw[]): NodeConfig {
  const problems: string[] = [];
  const merged: Record<string, unknown> = { ...DEFAULTS };
  for (const src of sources) {
    for (const [k, v] of Object.entries(src)) {
      if (v === undefined) continue;
      if (!(k in FIELDS)) {
        problems.push(`unknown setting "${k}" (known: ${CONFIG_KEYS.join(", ")})`);
        continue;
      }
      const c = coerce(k as ConfigKey, v, problems);
      if (c !== undefined) merged[k] = c;
    }
  }
  if (typeof merged["id"] !== "string") problems.push("id: required (e.g. --id n1 or RAFTBUS_ID=n1)");
  if (typeof merged["dataDir"] !== "string") problems.push("dataDir: required (e.g. --data-dir ./data/n1)");
  if (merged["peers"] === undefined && typeof merged["id"] === "string") {
    // A single-node cluster by default.
    merged["peers"] = [{ id: merged["id"], host: merged["host"], peerPort: merged["peerPort"], clientPort: merged["clientPort"] }];
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const cfg = merged as unknown as NodeConfig;
  validate(cfg, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return cfg;
}

function validate(c: NodeConfig, problems: string[]): void {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(c.id)) problems.push(`id: "${c.id}" must be 1–64 of A-Z a-z 0-9 _ -`);
  // Peer secrets (secret-rules.ts): long enough, no placeholder, the development one on loopback only.
  for (const [key, secret] of [["clusterSecret", c.clusterSecret], ["clusterSecretPrevious", c.clusterSecretPrevious]] as const) {
    const problem = key === "clusterSecretPrevious" && secret === "" ? undefined : secretProblem(key, secret, c.host);
    if (problem !== undefined) problems.push(problem);
  }
  if (c.clientPort === c.peerPort) problems.push(`clientPort and peerPort must differ (both ${c.clientPort})`);
  if (!(c.heartbeatTicks >= 1 && c.electionTicks > c.heartbeatTicks * 2)) {
    problems.push(`electionTicks (${c.electionTicks}) must exceed 2 × heartbeatTicks (${c.heartbeatTicks})`);
  }
  if (c.tickMs < 1 || c.tickMs > 10_000) problems.push("tickMs: must be between 1 and 10000");
  if (c.snapshotEntries < 1) problems.push("snapshotEntries: must be ≥ 1");
  if (c.snapshotBytes < 1024 * 1024) problems.push("snapshotBytes: must be ≥ 1MiB");
  if (c.trailingEntries < 0) problems.push("trailingEntries: must be ≥ 0");
  if (c.clusterVersionMax < BASE_CLUSTER_VERSION || c.clusterVersionMax > BUILD_CLUSTER_VERSION) {
    problems.push(`clusterVersionMax: this build implements cluster versions ${BASE_CLUSTER_VERSION}..${BUILD_CLUSTER_VERSION}`);
  }
  if (c.maxPayloadBytes < 1 || c.maxPayloadBytes > 64 * 1024 * 1024) problems.push("maxPayloadBytes: must be between 1 B and 64 MiB");
  validateLimits(c, problems);
  validateAuth(c, problems);
  problems.push(...tlsProblems(c));
  const ids = new Set<string>();
  for (const p of c.peers) {
    if (ids.has(p.id)) problems.push(`peers: "${p.id}" is listed twice`);
    ids.add(p.id);
  }
  const self = c.peers.find((p) => p.id === c.id);
  if (self === undefined) {
    problems.push(`peers: this node "${c.id}" is not in the peer list (${c.peers.map((p) => p.id).join(", ")}); every node lists the whole cluster, itself included`);
  } else if (self.peerPort !== c.peerPort || self.clientPort !== c.clientPort) {
    problems.push(`peers: the entry for "${c.id}" says ports ${self.peerPort}/${self.clientPort} but this node uses peerPort ${c.peerPort} and clientPort ${c.clientPort}`);
  }
}

/** The client WebSocket address of a peer (what NOT_LEADER redirects point at): wss:// when the cluster runs TLS. */
export function clientAddress(p: PeerSpec, tls = false): string {
  return `${tls ? "wss" : "ws"}://${p.host}:${p.clientPort}`;
}

/**
 * Settings that work but that an operator should hear about (printed at
 * start, never refused): an even number of voters tolerates no more
 * failures than one fewer (4 voters need 3, like 5 need 3 but 3 need 2).
 */
export function configWarnings(c: NodeConfig): string[] {
  const out: string[] = [];
  const n = c.peers.length;
  if (n > 1 && n % 2 === 0) {
    out.push(`peers: ${n} members need ${n / 2 + 1} up for a majority and survive ${n / 2 - 1} failure(s), no more than ${n - 1} would; an odd size is the better choice`);
  }
  return out;
}

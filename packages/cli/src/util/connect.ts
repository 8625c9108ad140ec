/**
 * Connecting from the command line: which servers, a short connect deadline,
 * and telling "nothing listens there" (exit 4) apart from "a node answered
 * but not in time" (exit 5). When every server refused the connection twice
 * and none ever accepted one, the CLI gives up at once instead of waiting for
 * the deadline.
 */
import { readFileSync } from "node:fs";
import { connect, nodeWebSocketFactory, parseServers, RaftbusError, tlsWebSocketFactory, type RaftbusClient, type WebSocketFactory } from "@raftbus/client/node";
import { CommandFailed, UnreachableError, UsageError } from "./errors.ts";
import { EXIT } from "./exit-codes.ts";
import { formatDuration } from "./units.ts";

/** The local cluster `pnpm start` (`raftbus cluster up`) runs. */
export const DEFAULT_SERVERS = "ws://127.0.0.1:7001,ws://127.0.0.1:7002,ws://127.0.0.1:7003";

/** Socket-level failures per server after which a server counts as unreachable. */
const REFUSALS_PER_SERVER = 2;

/** The server list: `--servers`, else RAFTBUS_SERVERS, else the local cluster. @throws UsageError for a malformed list. */
export function resolveServers(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string[] {
  const raw = flag !== undefined && flag !== "" ? flag : env["RAFTBUS_SERVERS"] !== undefined && env["RAFTBUS_SERVERS"] !== "" ? env["RAFTBUS_SERVERS"] : DEFAULT_SERVERS;
  const from = flag !== undefined && flag !== "" ? "--servers" : env["RAFTBUS_SERVERS"] ? "RAFTBUS_SERVERS" : "the default servers";
  try {
    return parseServers(raw);
  } catch (err) {
    if (err instanceof RaftbusError) throw new UsageError(`${from}: ${err.message} (e.g. ws://127.0.0.1:7001,ws://127.0.0.1:7002)`);
    throw err;
  }
}

/**
 * The CA file that checks `wss://` servers: `--ca`, else RAFTBUS_CA; undefined for none.
 * @throws UsageError when the file cannot be read or is not PEM.
 */
export function resolveCa(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): Buffer | undefined {
  const path = flag !== undefined && flag !== "" ? flag : env["RAFTBUS_CA"];
  if (path === undefined || path === "") return undefined;
  const from = flag !== undefined && flag !== "" ? "--ca" : "RAFTBUS_CA";
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    throw new UsageError(`${from}: cannot read ${path} (${(err as { code?: string }).code ?? String(err)})`);
  }
  if (!pem.toString("latin1").includes("-----BEGIN CERTIFICATE-----")) throw new UsageError(`${from}: ${path} is not a PEM certificate`);
  return pem;
}

/** Options of {@link connectCli}. */
export interface CliConnectOptions {
  readonly servers: readonly string[];
  /** Deadline of the first connection to the leader, in ms. */
  readonly connectTimeoutMs: number;
  /** Keys that verify system-message signatures (`RAFTBUS_SYSTEM_KEYS`). */
  readonly systemKeys?: readonly string[];
  /** Move to the leader when a follower answers (default true; false for stale reads). */
  readonly followLeader?: boolean;
  /** Opens sockets (tests inject one); default `ws`. */
  readonly webSocketFactory?: WebSocketFactory;
  /** The token to present (util/credentials.ts). */
  readonly token?: string;
  /** The CA that signed the nodes' certificates, for `wss://` servers (`--ca`). */
  readonly tlsCa?: Buffer;
}

/** What the sockets of one connect attempt did. */
class SocketWatch {
  opened = false;
  aborted = false;
  readonly failures = new Map<string, number>();
  readonly causes = new Set<string>();
  #onAllRefused: (() => void) | undefined;

  constructor(readonly servers: readonly string[]) {}

  set onAllRefused(f: () => void) {
    this.#onAllRefused = f;
  }

  failed(url: string, cause: string): void {
    this.causes.add(cause);
    this.failures.set(url, (this.failures.get(url) ?? 0) + 1);
    const allRefused = this.servers.every((s) => (this.failures.get(s) ?? 0) >= REFUSALS_PER_SERVER);
    if (!this.opened && allRefused) this.#onAllRefused?.();
  }
}

/**
 * What a socket error event says about the server: the system error code
 * (`ECONNREFUSED`…; `ws` puts the Node error on `.error`) or the failed
 * upgrade. Undefined when the SDK itself abandoned the socket (its handshake
 * deadline passed), which says nothing about reachability.
 */
function causeOf(event: unknown): string | undefined {
  const error = (event as { error?: unknown } | null)?.error;
  const code = (error as { code?: unknown } | null | undefined)?.code;
  if (typeof code === "string") return code;
  if (!(error instanceof Error) || /closed before the connection was established/i.test(error.message)) return undefined;
  return error.message;
}

interface Listenable {
  addEventListener?: (type: string, listener: (event: unknown) => void) => void;
}

/**
 * Connect to the leader of `servers`.
 * @throws UnreachableError when no server accepted a connection; CommandFailed
 *   TIMEOUT when none connected us to a leader in time; RaftbusErrors
 *   (UNAUTHORIZED, UNSUPPORTED_VERSION) as the server sent them.
 */
export async function connectCli(options: CliConnectOptions): Promise<RaftbusClient> {
  const watch = new SocketWatch(options.servers);
  const inner = options.webSocketFactory ?? (options.tlsCa !== undefined ? tlsWebSocketFactory({ ca: options.tlsCa }) : nodeWebSocketFactory);
  const factory: WebSocketFactory = (url) => {
    if (watch.aborted) throw new Error("the CLI gave up connecting");
    const socket = inner(url);
    const events = socket as unknown as Listenable;
    events.addEventListener?.("open", () => {
      watch.opened = true;
    });
    events.addEventListener?.("error", (event) => {
      const cause = causeOf(event);
      if (cause !== undefined) watch.failed(url, cause);
    });
    return socket;
  };
  const allRefused = new Promise<never>((_, reject) => {
    watch.onAllRefused = () => {
      watch.aborted = true;
      reject(new UnreachableError(options.servers, [...watch.causes]));
    };
  });
  const connecting = connect({
    servers: options.servers,
    name: "raftbus-cli",
    // The SDK uses `timeoutMs` for the first connect and as the default request deadline; CLI requests pass their own.
    timeoutMs: options.connectTimeoutMs,
    reconnect: { initialMs: 100, maxMs: 1000 },
    webSocketFactory: factory,
    ...(options.systemKeys !== undefined ? { systemKeys: options.systemKeys } : {}),
    ...(options.followLeader === false ? { followLeader: false } : {}),
    ...(options.token !== undefined ? { token: options.token } : {}),
  });
  // Whichever loses the race must not surface as an unhandled rejection; a late client is closed.
  connecting.then((late) => (watch.aborted ? late.close() : undefined), () => undefined);
  allRefused.catch(() => undefined);
  try {
    return await Promise.race([connecting, allRefused]);
  } catch (err) {
    // Unreachable only when sockets failed and none ever opened; no answer at all within the deadline is a timeout.
    if (err instanceof RaftbusError && !watch.opened && watch.failures.size > 0 && (err.code === "TIMEOUT" || err.code === "CONNECTION_CLOSED")) {
      throw new UnreachableError(options.servers, [...watch.causes]);
    }
    if (err instanceof RaftbusError && err.code === "TIMEOUT") {
      throw new CommandFailed("TIMEOUT", `no connection to the cluster leader within ${formatDuration(options.connectTimeoutMs)}: ${err.message}`, EXIT.TIMEOUT,
        "a node may be starting or an election running; check `raftbus cluster status`, or raise --connect-timeout");
    }
    throw err;
  }
}

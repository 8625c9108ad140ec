/**
 * Every way a CLI command can fail, mapped to one message, one hint of what
 * to do next, and one exit code from exit-codes.ts. Commands throw; only
 * {@link describeFailure} decides what the user sees.
 */
import { RaftbusError, type ErrorCode } from "@raftbus/client/vocabulary";
import { EXIT } from "./exit-codes.ts";
import { formatDuration } from "./units.ts";

/** The command line is wrong (bad flag value, missing payload…): exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  /** The command whose `--help` to point at, e.g. `pub`. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** No server accepted a connection: exit 4. */
export class UnreachableError extends Error {
  override readonly name = "UnreachableError";
  /** The addresses tried. */
  readonly servers: readonly string[];
  /** What the sockets reported, e.g. `ECONNREFUSED`; empty when they just did not answer. */
  readonly causes: readonly string[];

  constructor(servers: readonly string[], causes: readonly string[]) {
    super(`no raftbus server reachable at ${servers.join(", ")}${causes.length > 0 ? ` (${causes.join(", ")})` : ""}`);
    this.servers = servers;
    this.causes = causes;
  }
}

/**
 * A command ended in an expected failure that is not a server error, e.g.
 * `sub --count 5 --timeout 10s` receiving only 3. Carries its own exit code.
 */
export class CommandFailed extends Error {
  override readonly name = "CommandFailed";
  readonly code: string;
  readonly exitCode: number;
  readonly hint: string | undefined;

  constructor(code: string, message: string, exitCode: number, hint?: string) {
    super(message);
    this.code = code;
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

/** What the failing command was about, so hints can name it. */
export interface FailureContext {
  /** The topic the command named. */
  readonly topic?: string;
  /** The filter expression given with `--filter`. */
  readonly filter?: string;
  /** The subscription pattern given to `sub`. */
  readonly pattern?: string;
  /** The per-request deadline, for the TIMEOUT hint. */
  readonly timeoutMs?: number;
}

/** What to print and how to exit. */
export interface Failure {
  readonly exitCode: number;
  /** Stable code for scripts: a RaftbusError code, `USAGE`, `UNREACHABLE`… */
  readonly code: string;
  /** First line, after `raftbus: `. */
  readonly message: string;
  /** Further lines, each shown indented: what to do, or the filter with a caret. */
  readonly hints: readonly string[];
}

/** Codes whose failure is a timeout: the outcome is unknown. */
const TIMEOUT_CODES: ReadonlySet<string> = new Set<ErrorCode>(["TIMEOUT"]);
/** Codes about data on a node's disk. */
const DATA_CODES: ReadonlySet<string> = new Set(["STORAGE_CORRUPT", "STORAGE_WRONG_NODE", "BACKUP_INVALID"]);

const PATTERN_HELP = "patterns: an exact topic (orders.eu), one level (orders.*), any depth (orders.**) or a regex (/^orders\\.[a-z]+$/)";
const TOPIC_HELP = "topic names are dot-separated segments of A-Z a-z 0-9 _ - (e.g. orders.eu-west), at most 255 characters";

/**
 * The expression with a caret under `position` (0-based), for INVALID_FILTER.
 * Long expressions are cut to a window around the position.
 */
export function caretLines(expression: string, position: number, width = 72): [string, string] {
  const at = Math.max(0, Math.min(Math.trunc(position), expression.length));
  let start = 0;
  if (expression.length > width) start = Math.max(0, Math.min(at - Math.floor(width / 2), expression.length - width));
  const shown = expression.slice(start, start + width);
  const prefix = start > 0 ? "…" : "";
  const suffix = start + width < expression.length ? "…" : "";
  return [`${prefix}${shown}${suffix}`, `${" ".repeat(prefix.length + at - start)}^`];
}

function raftbusHints(err: RaftbusError, ctx: FailureContext): string[] {
  const topic = ctx.topic;
  switch (err.code) {
    case "TOPIC_NOT_FOUND":
      return topic !== undefined
        ? [`topic ${topic} does not exist; create it with \`raftbus topic create ${topic}\` (see them all with \`raftbus topic list\`)`]
        : ["see the topics with `raftbus topic list`"];
    case "TOPIC_EXISTS":
      return [topic !== undefined ? `topic ${topic} already exists; see it with \`raftbus topic info ${topic}\`` : "see the topics with `raftbus topic list`"];
    case "INVALID_FILTER": {
      const position = err.details?.["position"];
      const lines = ctx.filter !== undefined && typeof position === "number" ? caretLines(ctx.filter, position) : [];
      return [...lines, "filters compare headers and JSON payload fields, e.g. `usage > 90 && host == \"db1\"`"];
    }
    case "INVALID_PATTERN":
      return [PATTERN_HELP];
    case "INVALID_TOPIC":
      return [TOPIC_HELP];
    case "PAYLOAD_TOO_LARGE":
    case "HEADERS_TOO_LARGE":
      return ["make the message smaller, or raise the node's maxPayloadBytes"];
    case "SUBSCRIPTION_NOT_FOUND":
      return ["see the subscriptions with `raftbus subscription list`"];
    case "MESSAGE_NOT_FOUND":
      return [topic !== undefined ? `see the dead letters with \`raftbus dlq list ${topic}\`` : "check the ids"];
    case "NOT_LEADER":
    case "NO_LEADER":
      return ["the cluster has no leader right now (an election?); check `raftbus cluster status` and retry"];
    case "PROPOSAL_DROPPED":
      return ["lost to a leader change; retrying is safe"];
    case "RATE_LIMITED":
    case "BACKPRESSURE":
      return ["the cluster is overloaded; slow down and retry"];
    case "UNAUTHORIZED":
      return ["pass a token: --token, RAFTBUS_TOKEN, --credentials FILE, or ./data/credentials (written by `pnpm start`); tokens come from `raftbus user add`"];
    case "FORBIDDEN":
      return [`this user lacks ${typeof err.details?.["permission"] === "string" ? `the permission ${String(err.details["permission"])}` : "the permission"}; an admin can change it with \`raftbus user grant\``];
    case "USER_NOT_FOUND":
      return ["see the users with `raftbus user list`"];
    case "USER_EXISTS":
      return ["give it a new token with `raftbus user rotate NAME`, or pick another name"];
    case "UNSUPPORTED_VERSION":
      return ["the CLI and the nodes speak different protocol versions; run matching versions"];
    case "CONNECTION_CLOSED":
    case "SHUTTING_DOWN":
      return ["the connection went away during the command; its outcome is unknown — check with `raftbus cluster status`"];
    case "INTERNAL":
      return ["this is a bug in the node; see its log"];
    case "BACKUP_INVALID":
      return ["the file is damaged, cut short or not a raftbus backup; nothing was restored — use another copy"];
    case "BACKUP_NOT_FOUND":
      return ["the node stopped streaming the backup (leader change, restart, or no read for a minute); run the backup again"];
    default:
      return [];
  }
}

/**
 * Map anything a command threw to what the user sees and the exit code.
 * Returns undefined for errors that are bugs (not an expected failure); the
 * caller lets those crash with their stack.
 */
export function describeFailure(err: unknown, ctx: FailureContext = {}): Failure | undefined {
  if (err instanceof UsageError) {
    const help = err.command !== undefined ? `raftbus ${err.command} --help` : "raftbus --help";
    return { exitCode: EXIT.USAGE, code: "USAGE", message: err.message, hints: [`see \`${help}\` for usage`] };
  }
  if (err instanceof UnreachableError) {
    return {
      exitCode: EXIT.UNREACHABLE,
      code: "UNREACHABLE",
      message: err.message,
      hints: ["is the cluster running? start one with `pnpm start`, or point --servers (or RAFTBUS_SERVERS) at it"],
    };
  }
  if (err instanceof CommandFailed) {
    return { exitCode: err.exitCode, code: err.code, message: `${err.code}: ${err.message}`, hints: err.hint !== undefined ? [err.hint] : [] };
  }
  if (err instanceof RaftbusError) {
    const message = `${err.code}: ${err.message}`;
    if (TIMEOUT_CODES.has(err.code)) {
      const within = ctx.timeoutMs !== undefined ? ` (--timeout ${formatDuration(ctx.timeoutMs)})` : "";
      return {
        exitCode: EXIT.TIMEOUT,
        code: err.code,
        message,
        hints: [`no answer in time${within}; the outcome is unknown — check \`raftbus cluster status\`, or retry with a longer --timeout`],
      };
    }
    return { exitCode: DATA_CODES.has(err.code) ? EXIT.DATA : EXIT.FAILED, code: err.code, message, hints: raftbusHints(err, ctx) };
  }
  return undefined;
}

/** The lines to print on stderr for a failure (without trailing newlines). */
export function failureLines(failure: Failure): string[] {
  return [`raftbus: ${failure.message}`, ...failure.hints.map((h) => `  ${h}`)];
}

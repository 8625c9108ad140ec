/**
 * What every client command shares: the global options (`--servers`,
 * `--json`, `--timeout`, `--connect-timeout`), one lazily opened client that
 * is always closed, and one place that turns a thrown failure into a message
 * and an exit code (util/errors.ts).
 */
import type { RaftbusClient } from "@raftbus/client";
import type { Argv } from "yargs";
import { Printer, type Io } from "../output/io.ts";
import { optDuration, optString, type Args } from "../util/args.ts";
import { CommandFailed, describeFailure, failureLines, UsageError, type FailureContext } from "../util/errors.ts";
import { EXIT } from "../util/exit-codes.ts";
import { resolveToken } from "../util/credentials.ts";

/** Default deadline of one request. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Default deadline of the first connection: short, a CLI should say quickly that nothing answers. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 3000;

/** The context a command runs in. */
export interface CommandContext {
  readonly io: Io;
  /** stdout, with its colours. */
  readonly out: Printer;
  /** stderr, with its colours (progress, notes, errors). */
  readonly err: Printer;
  /** `--json`: machine-readable output only on stdout. */
  readonly json: boolean;
  /** Deadline of each request, in ms (`--timeout`, default 10 s). */
  readonly timeoutMs: number;
  /** True when `--timeout` was given (sub reads it as its idle timeout). */
  readonly timeoutGiven: boolean;
  /** The connected client, opened on first use and closed when the command ends. */
  client(): Promise<RaftbusClient>;
}

/** A command: reads its arguments, does its work, returns an exit code (or throws a failure). */
export type Handler = (args: Args, ctx: CommandContext) => Promise<number | void>;

/**
 * Wraps a handler for yargs: runs it and records its exit code. `command`
 * names it in usage hints (`raftbus topic create --help`); `failureContext`
 * tells error hints which topic or filter the command was about.
 */
export type Act = (command: string, handler: Handler, failureContext?: (args: Args) => FailureContext) => (args: Args) => Promise<void>;

/** The global options, shared by every command. */
export function globalOptions(y: Argv): Argv {
  return y
    .option("servers", { type: "string", describe: "comma-separated node addresses [env RAFTBUS_SERVERS; default ws://127.0.0.1:7001,…:7002,…:7003]" })
    .option("json", { type: "boolean", default: false, describe: "machine-readable output: one JSON document (JSON lines for sub)" })
    .option("timeout", { type: "string", describe: "deadline of each request, e.g. 10s (default 10s); for sub: exit after this long without a message" })
    .option("connect-timeout", { type: "string", describe: "give up connecting after this long (default 3s)" })
    .option("token", { type: "string", describe: "token to authenticate with [env RAFTBUS_TOKEN]" })
    .option("credentials", { type: "string", describe: "file holding the token [env RAFTBUS_CREDENTIALS; default ./data/credentials, written by cluster up]" })
    .option("ca", { type: "string", describe: "CA certificate (PEM file) that checks wss:// servers [env RAFTBUS_CA]" })
    .group(["servers", "json", "timeout", "connect-timeout", "token", "credentials", "ca", "help"], "Global options:");
}

/** Run `handler` with a context built from `args`; resolves with the exit code and never throws an expected failure. */
export async function runHandler(command: string, handler: Handler, args: Args, io: Io, failureContext: FailureContext = {}): Promise<number> {
  const out = new Printer(io.stdout, io.env);
  const err = new Printer(io.stderr, io.env);
  let client: Promise<RaftbusClient> | undefined;
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  try {
    timeoutMs = optDuration(args, "timeout", command, 1) ?? DEFAULT_TIMEOUT_MS;
    const connectTimeoutMs = optDuration(args, "connect-timeout", command, 1) ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const ctx: CommandContext = {
      io,
      out,
      err,
      json: args["json"] === true,
      timeoutMs,
      timeoutGiven: optString(args, "timeout") !== undefined,
      client: () => {
        // The SDK and its socket library load only for commands that connect.
        client ??= import("../util/connect.ts").then(({ connectCli, resolveCa, resolveServers }) => {
          const token = resolveToken({ token: optString(args, "token"), credentials: optString(args, "credentials") }, io.env);
          const tlsCa = resolveCa(optString(args, "ca"), io.env);
          // A stale read is answered by the first node reached: stay there rather than move to the leader.
          return connectCli({
            servers: resolveServers(optString(args, "servers"), io.env), connectTimeoutMs, systemKeys: systemKeysFrom(io.env), followLeader: args["stale"] !== true,
            ...(token !== undefined ? { token } : {}),
            ...(tlsCa !== undefined ? { tlsCa } : {}),
          });
        });
        return client;
      },
    };
    const code = await handler(args, ctx);
    return code ?? EXIT.OK;
  } catch (e) {
    const failure = describeFailure(e, { timeoutMs, ...failureContext });
    if (failure === undefined) throw e;
    for (const line of failureLines(failure)) err.line(line);
    return failure.exitCode;
  } finally {
    if (client !== undefined) {
      // Closing flushes queued acks; a client that never connected has nothing to close.
      await client.then((c) => c.close(), () => undefined);
    }
  }
}

/**
 * Go ahead with a destructive operation: with `--yes`, at once; on a
 * terminal, after the user said yes; otherwise (a script without `--yes`)
 * refuse with a usage error rather than guess.
 * @throws UsageError without --yes and without a terminal; CommandFailed when the user said no.
 */
export async function confirmDestructive(ctx: CommandContext, args: Args, command: string, question: string): Promise<void> {
  if (args["yes"] === true) return;
  if (!ctx.io.stdin.isTTY) throw new UsageError(`${question.replace(/\?$/, "")}: refusing without --yes (no terminal to ask on)`, command);
  if (!(await ctx.io.confirm(question))) throw new CommandFailed("ABORTED", "nothing was changed", EXIT.FAILED);
}

/**
 * Keys that verify `$sys.` signatures: `RAFTBUS_SYSTEM_KEYS` (comma-separated
 * `rbsk1.…` keys from `raftbus sys key`; old and new during a rotation).
 */
export function systemKeysFrom(env: Readonly<Record<string, string | undefined>>): string[] {
  return (env["RAFTBUS_SYSTEM_KEYS"] ?? "").split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * `raftbus sub <pattern>` — like `nats sub` / `kafka-console-consumer`: print
 * each message (or JSON lines with `--json`), ack it, and stop after
 * `--count` messages, after `--timeout` without one, or on Ctrl-C.
 */
import type { Msg, RaftbusClient, StartPosition, SubscribeOptions, Subscription } from "@raftbus/client";
import { GUARANTEES, RaftbusError, type Guarantee } from "@raftbus/client/vocabulary";
import type { Argv } from "yargs";
import { messageForHumans, messageJson } from "../output/format.ts";
import { optInt, optString, reqString, type Args } from "../util/args.ts";
import { CommandFailed, UsageError } from "../util/errors.ts";
import { EXIT } from "../util/exit-codes.ts";
import { DURATION_HINT, formatDuration, parseDuration } from "../util/units.ts";
import { DEFAULT_TIMEOUT_MS, type Act, type CommandContext } from "./context.ts";

const COMMAND = "sub";
/** Default in-flight window of the CLI's subscription (the SDK's default). */
const MAX_IN_FLIGHT_DEFAULT = 100;
/** Largest window `--count N --no-ack` asks for (the server's default maxInFlight limit). */
const NO_ACK_WINDOW_MAX = 10_000;

/** Everything `sub` will do, decided from its arguments before connecting. */
export interface SubPlan {
  readonly pattern: string;
  /** Subscribe options (without handler and deadline). */
  readonly options: SubscribeOptions;
  /** Stop after this many messages. */
  readonly count: number | undefined;
  /** Stop after this long without a message. */
  readonly idleMs: number | undefined;
  /** Ack each message after printing it. */
  readonly ack: boolean;
}

/**
 * Parse `--from`: `earliest`, `latest`, an offset (`42`), a time
 * (`2026-01-31T10:00:00Z`) or a duration ago (`10m`: messages of the last ten
 * minutes). @throws UsageError
 */
export function parseFrom(text: string, now: number): StartPosition {
  const s = text.trim();
  if (s === "earliest" || s === "latest") return s;
  if (/^\d+$/.test(s)) {
    const offset = Number(s);
    if (Number.isSafeInteger(offset)) return { offset };
  }
  const ago = parseDuration(s);
  if (ago !== undefined) return { time: Math.max(0, now - ago) };
  if (/^\d{4}-\d{2}-\d{2}/.test(s)) {
    const time = Date.parse(s);
    if (!Number.isNaN(time)) return { time };
  }
  throw new UsageError(`--from: ${JSON.stringify(text)} is not earliest, latest, an offset (42), a time (2026-01-31T10:00:00Z) or a duration ago (${DURATION_HINT})`, COMMAND);
}

/** Map `sub` arguments to a plan; `now` anchors `--from 10m`. @throws UsageError */
export function subPlan(args: Args, now: number): SubPlan {
  const pattern = reqString(args, "pattern", COMMAND);
  const name = optString(args, "name");
  const filter = optString(args, "filter");
  const guarantee = optString(args, "guarantee") as Guarantee | undefined;
  const fromText = optString(args, "from");
  const from = fromText !== undefined ? parseFrom(fromText, now) : undefined;
  const count = optInt(args, "count", COMMAND, { min: 1 });
  const ack = args["ack"] !== false;
  // Without acks the window never reopens (credit comes back on ack), so --count N --no-ack needs room for all N.
  const countWindow = count !== undefined ? Math.min(count, ack ? MAX_IN_FLIGHT_DEFAULT : NO_ACK_WINDOW_MAX) : undefined;
  const maxInFlight = optInt(args, "max-in-flight", COMMAND, { min: 1 }) ?? countWindow;
  const timeoutText = optString(args, "timeout");
  let idleMs: number | undefined;
  if (timeoutText !== undefined) {
    idleMs = parseDuration(timeoutText);
    if (idleMs === undefined || idleMs < 1) throw new UsageError(`--timeout: ${JSON.stringify(timeoutText)} is not a duration; use ${DURATION_HINT}`, COMMAND);
  }
  const options: SubscribeOptions = {
    autoAck: false,
    ...(name !== undefined ? { name } : {}),
    ...(filter !== undefined ? { filter } : {}),
    ...(guarantee !== undefined ? { guarantee } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(maxInFlight !== undefined ? { maxInFlight } : {}),
  };
  return { pattern, options, count, idleMs, ack };
}

/** Why the receive loop ended. */
type End = "count" | "idle" | "interrupted" | "closed";

/** Resolves with "idle" once no message arrived for `idleMs`; `reset()` restarts the clock. */
class IdleTimer {
  readonly fired: Promise<"idle">;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #fire!: () => void;

  constructor(readonly idleMs: number | undefined) {
    this.fired = new Promise((resolve) => {
      this.#fire = () => resolve("idle");
    });
    this.reset();
  }

  reset(): void {
    if (this.idleMs === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#fire, this.idleMs);
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}

/**
 * A durable subscription's window is part of its replicated settings: when
 * `--name` names one that exists and `--max-in-flight` was not given, keep
 * its window rather than derive a different one from `--count` (which the
 * server would refuse as a different configuration).
 */
async function durableOptions(client: RaftbusClient, plan: SubPlan, windowGiven: boolean, timeoutMs: number): Promise<SubscribeOptions> {
  const name = plan.options.name;
  if (name === undefined || windowGiven) return plan.options;
  // Listing needs admin:subscriptions; a user without it subscribes with the window it asked for.
  const listed = await client.subscriptions.list({ timeoutMs }).catch((err: unknown) => {
    if (err instanceof RaftbusError && err.code === "FORBIDDEN") return [];
    throw err;
  });
  const existing = listed.find((s) => s.id === name && s.durable);
  if (existing === undefined) return plan.options;
  return { ...plan.options, maxInFlight: existing.maxInFlight };
}

async function sub(args: Args, ctx: CommandContext): Promise<number> {
  const plan = subPlan(args, Date.now());
  const client = await ctx.client();
  // `--timeout` is sub's idle timeout; its requests (subscribe, acks) get at least the default deadline.
  const timeoutMs = Math.max(ctx.timeoutMs, DEFAULT_TIMEOUT_MS);
  const options = await durableOptions(client, plan, args["max-in-flight"] !== undefined, timeoutMs);
  let subscription: Subscription;
  try {
    subscription = await client.subscribe(plan.pattern, { ...options, timeoutMs });
  } catch (err) {
    if (plan.options.name !== undefined && err instanceof RaftbusError && err.code === "INVALID_ARGUMENT" && /different configuration/.test(err.message)) {
      throw new CommandFailed(err.code, err.message, EXIT.FAILED,
        `durable subscription ${plan.options.name} keeps the settings of its first use (pattern, --filter, --guarantee, --from, --max-in-flight): give the same ones, or use another --name`);
    }
    throw err;
  }
  if (!ctx.json && ctx.err.isTTY) {
    const from = plan.options.from === undefined ? "new messages" : typeof plan.options.from === "string" ? plan.options.from : JSON.stringify(plan.options.from);
    ctx.err.line(ctx.err.style("dim", `subscribed to ${plan.pattern} (${from}${plan.options.name !== undefined ? `, durable ${plan.options.name}` : ""}${plan.ack ? "" : ", not acking"}); Ctrl-C to stop`));
  }
  const stop = ctx.io.interrupted();
  const interrupted = new Promise<"interrupted">((resolve) => {
    if (stop.aborted) resolve("interrupted");
    stop.addEventListener("abort", () => resolve("interrupted"), { once: true });
  });
  const idle = new IdleTimer(plan.idleMs);
  const iterator = subscription[Symbol.asyncIterator]();
  // Acks go out without waiting for each (the SDK batches them), at most maxInFlight at a time.
  const acking = new Set<Promise<void>>();
  const ackWindow = subscription.maxInFlight;
  let ackError: unknown;
  let received = 0;
  let end: End = "closed";
  try {
    // Bounded by --count, --timeout, Ctrl-C or the end of the subscription.
    for (;;) {
      const next = await Promise.race([iterator.next(), idle.fired, interrupted]);
      if (next === "idle" || next === "interrupted") {
        end = next;
        break;
      }
      if (next.done === true) break;
      idle.reset();
      const msg: Msg = next.value;
      received++;
      if (ctx.json) ctx.out.jsonLine(messageJson(msg));
      else ctx.out.line(...messageForHumans(msg, received, ctx.out.style));
      if (plan.ack) {
        const p: Promise<void> = msg.ack().catch((err: unknown) => {
          ackError ??= err;
        }).finally(() => acking.delete(p));
        acking.add(p);
        if (acking.size >= ackWindow) await Promise.race(acking);
      }
      if (plan.count !== undefined && received >= plan.count) {
        end = "count";
        break;
      }
    }
  } finally {
    idle.stop();
    await Promise.allSettled([...acking]);
    // Leaving the iterator unsubscribes (a durable subscription keeps its state for next time).
    await iterator.return?.();
  }
  if (ackError !== undefined) throw ackError;
  if (end === "idle") {
    if (plan.count !== undefined) {
      throw new CommandFailed("TIMEOUT", `received ${received} of ${plan.count} message(s); none arrived for ${formatDuration(plan.idleMs ?? 0)}`, EXIT.TIMEOUT,
        "publish more, wait longer with --timeout, or read older messages with --from earliest");
    }
    if (!ctx.json) ctx.err.line(ctx.err.style("dim", `no message for ${formatDuration(plan.idleMs ?? 0)}; ${received} received`));
  }
  return EXIT.OK;
}

/** Register `sub` under `y`. */
export function subCommand(y: Argv, act: Act): Argv {
  return y.command(["sub <pattern>", "subscribe"], "receive messages: print (and ack) each one", (yy: Argv) => yy
    .positional("pattern", { type: "string", describe: "topic, a.* (one level), a.** (any depth) or /regex/" })
    .option("name", { type: "string", describe: "durable subscription name: resumes where it left off" })
    .option("filter", { type: "string", describe: "only messages matching this expression, e.g. 'usage > 90'" })
    .option("from", { type: "string", describe: "where a new subscription starts: earliest, latest, an offset, a time (ISO) or a duration ago (10m)" })
    .option("count", { alias: "n", type: "number", describe: "exit after this many messages" })
    .option("ack", { type: "boolean", default: true, describe: "ack each message after printing it; --no-ack leaves them to be redelivered (and receives at most --max-in-flight)" })
    .option("guarantee", { alias: "g", type: "string", choices: [...GUARANTEES], describe: "delivery guarantee (default at-least-once)" })
    .option("max-in-flight", { type: "number", describe: "most unacked messages held at once (default 100, or --count)" })
    .example("$0 sub demo --from earliest --count 1", "")
    .example("$0 sub 'alerts.**' --filter 'usage > 90' --json | jq .payload", "")
    .example("$0 sub orders --name billing --timeout 10s", "exit after 10 s without a message"),
  act(COMMAND, sub, (args) => ({
    ...(optString(args, "pattern") !== undefined ? { topic: optString(args, "pattern"), pattern: optString(args, "pattern") } : {}),
    ...(optString(args, "filter") !== undefined ? { filter: optString(args, "filter") } : {}),
  })));
}


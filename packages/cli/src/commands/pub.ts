/**
 * `raftbus pub <topic> [payload]` — like `nats pub`: the payload from the
 * argument, `--file`, or stdin when piped; message options as flags;
 * `--count N` publishes N messages through the SDK's batching publisher with
 * a progress bar, and `{{.Count}}` / `{{.TimeStamp}}` in the payload, id or
 * header values make each one different.
 */
import { stat, readFile } from "node:fs/promises";
import type { PublishOptions, PublishResult, RaftbusClient } from "@raftbus/client";
import { FRAME_BYTES_MAX, GUARANTEES, PRIORITIES, RaftbusError, type Guarantee, type Priority } from "@raftbus/client/vocabulary";
import type { TopicSigningKey } from "@raftbus/client/protocol";
import type { Argv } from "yargs";
import { ProgressBar } from "../output/progress.ts";
import { optDuration, optInt, optString, reqString, stringList, type Args } from "../util/args.ts";
import { UsageError } from "../util/errors.ts";
import { EXIT } from "../util/exit-codes.ts";
import { formatDuration } from "../util/units.ts";
import type { Act, CommandContext } from "./context.ts";

const COMMAND = "pub";

/** Where the payload comes from. */
export type PayloadSource =
  | { readonly kind: "arg"; readonly text: string }
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "stdin" };

/** Everything `pub` will do, decided from its arguments before connecting. */
export interface PubPlan {
  readonly topic: string;
  readonly source: PayloadSource;
  /** Message options (without the deadline). */
  readonly options: PublishOptions;
  /** How many messages; 1 unless `--count`. */
  readonly count: number;
  /** Expand `{{.Count}}` and `{{.TimeStamp}}` (only with `--count`). */
  readonly template: boolean;
}

/** `k=v` pairs of `--header` into a record. @throws UsageError for a missing `=`, an empty key or a repeated key. */
export function parseHeaders(pairs: readonly string[], command = COMMAND): Record<string, string> | undefined {
  if (pairs.length === 0) return undefined;
  const headers: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--header must be key=value, got ${JSON.stringify(pair)}`, command);
    const key = pair.slice(0, eq).trim();
    if (key === "") throw new UsageError(`--header must be key=value, got ${JSON.stringify(pair)}`, command);
    if (Object.hasOwn(headers, key)) throw new UsageError(`--header ${key} is given twice`, command);
    headers[key] = pair.slice(eq + 1);
  }
  return headers;
}

/** Placeholders of `--count` runs, as in `nats pub`. */
const TEMPLATE_RE = /\{\{\s*\.(Count|TimeStamp)\s*\}\}/g;

/** Expand `{{.Count}}` (1-based) and `{{.TimeStamp}}` (ISO time) in `text`. */
export function expandTemplate(text: string, count: number, now: number): string {
  return text.replace(TEMPLATE_RE, (_, name: string) => (name === "Count" ? String(count) : new Date(now).toISOString()));
}

/** Map `pub` arguments to a plan. @throws UsageError */
export function pubPlan(args: Args, stdinIsTTY: boolean): PubPlan {
  const topic = reqString(args, "topic", COMMAND);
  const payload = optString(args, "payload");
  const file = optString(args, "file");
  if (payload !== undefined && file !== undefined) throw new UsageError("give the payload as an argument or with --file, not both", COMMAND);
  let source: PayloadSource;
  if (payload !== undefined) source = { kind: "arg", text: payload };
  else if (file !== undefined && file !== "-") source = { kind: "file", path: file };
  else if (file === "-" || !stdinIsTTY) source = { kind: "stdin" };
  else throw new UsageError(`no payload: give one (raftbus pub ${topic} 'hello'), use --file path, or pipe it in (echo hello | raftbus pub ${topic})`, COMMAND);

  const count = optInt(args, "count", COMMAND, { min: 1 }) ?? 1;
  const id = optString(args, "id");
  const template = args["count"] !== undefined;
  if (id !== undefined && count > 1 && !id.includes("{{")) {
    throw new UsageError("with --count, every message needs its own --id: use a placeholder, e.g. --id 'order-{{.Count}}'", COMMAND);
  }
  const priority = optString(args, "priority");
  const guarantee = optString(args, "guarantee");
  const ttlMs = optDuration(args, "ttl", COMMAND, 1);
  const headers = parseHeaders(stringList(args, "header"));
  const correlationId = optString(args, "correlation-id");
  const maxRetries = optInt(args, "max-retries", COMMAND, { min: 0 });
  const options: PublishOptions = {
    ...(id !== undefined ? { id } : {}),
    ...(priority !== undefined ? { priority: priority as Priority } : {}),
    ...(guarantee !== undefined ? { guarantee: guarantee as Guarantee } : {}),
    ...(ttlMs !== undefined ? { ttlMs } : {}),
    ...(headers !== undefined ? { headers } : {}),
    ...(correlationId !== undefined ? { correlationId } : {}),
    ...(maxRetries !== undefined ? { maxRetries } : {}),
  };
  return { topic, source, options, count, template };
}

function tooLarge(what: string, bytes: number): RaftbusError {
  return new RaftbusError("PAYLOAD_TOO_LARGE", `${what} is ${bytes} bytes; no frame may exceed ${FRAME_BYTES_MAX}`, { details: { payloadBytes: bytes } });
}

/** Read the payload bytes; bounded by the largest frame any server accepts. */
export async function readPayload(source: PayloadSource, stdin: AsyncIterable<Uint8Array | string>): Promise<Uint8Array | string> {
  switch (source.kind) {
    case "arg":
      return source.text;
    case "file": {
      let size: number;
      try {
        size = (await stat(source.path)).size;
      } catch (err) {
        throw new UsageError(`--file ${source.path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`, COMMAND);
      }
      if (size > FRAME_BYTES_MAX) throw tooLarge(`--file ${source.path}`, size);
      return new Uint8Array(await readFile(source.path));
    }
    case "stdin": {
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of stdin) {
        const buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.from(chunk);
        total += buf.byteLength;
        if (total > FRAME_BYTES_MAX) throw tooLarge("stdin", total);
        chunks.push(buf);
      }
      return new Uint8Array(Buffer.concat(chunks));
    }
  }
}

/** The options of message `n` of a run: placeholders expanded. */
function optionsFor(plan: PubPlan, n: number, now: number): PublishOptions {
  if (!plan.template) return plan.options;
  const o = plan.options;
  return {
    ...o,
    ...(o.id !== undefined ? { id: expandTemplate(o.id, n, now) } : {}),
    ...(o.headers !== undefined ? { headers: Object.fromEntries(Object.entries(o.headers).map(([k, v]) => [k, expandTemplate(v, n, now)])) } : {}),
  };
}

function describeAck(ack: PublishResult): string {
  return ack.duplicate
    ? `duplicate: already stored in ${ack.topic} at offset ${ack.offset} (index ${ack.index}); nothing new was written`
    : `published to ${ack.topic}: offset ${ack.offset}, index ${ack.index}`;
}

/** Totals of a `--count` run. */
interface RunTotals {
  committed: number;
  duplicates: number;
  failed: number;
  firstOffset: number | undefined;
  lastOffset: number | undefined;
}

async function publishMany(plan: PubPlan, payload: Uint8Array | string, client: RaftbusClient, ctx: CommandContext): Promise<number> {
  const publisher = client.publisher({ timeoutMs: ctx.timeoutMs });
  const totals: RunTotals = { committed: 0, duplicates: 0, failed: 0, firstOffset: undefined, lastOffset: undefined };
  const progress = new ProgressBar(ctx.err, plan.topic, plan.count);
  const stop = ctx.io.interrupted();
  const started = Date.now();
  let sent = 0;
  let failure: unknown;
  try {
    // Bounded by --count; `publish` waits for room in the publisher's window (backpressure).
    for (let n = 1; n <= plan.count && !stop.aborted; n++) {
      const now = Date.now();
      const body = plan.template && typeof payload === "string" ? expandTemplate(payload, n, now) : payload;
      const pending = await publisher.publish(plan.topic, body, optionsFor(plan, n, now));
      sent++;
      pending.committed.then((ack) => {
        totals.committed++;
        if (ack.duplicate) totals.duplicates++;
        totals.firstOffset = Math.min(totals.firstOffset ?? ack.offset, ack.offset);
        totals.lastOffset = Math.max(totals.lastOffset ?? ack.offset, ack.offset);
        progress.update(totals.committed);
      }, () => {
        totals.failed++;
      });
    }
    await publisher.flush();
  } catch (err) {
    failure = err;
  } finally {
    progress.finish();
  }
  const elapsedMs = Date.now() - started;
  const summary = {
    topic: plan.topic,
    count: plan.count,
    published: totals.committed,
    duplicates: totals.duplicates,
    failed: totals.failed,
    firstOffset: totals.firstOffset ?? null,
    lastOffset: totals.lastOffset ?? null,
    elapsedMs,
    ratePerSec: elapsedMs > 0 ? Math.round((totals.committed * 1000) / elapsedMs) : totals.committed,
    interrupted: stop.aborted,
  };
  if (ctx.json) ctx.out.json(summary);
  else {
    const offsets = totals.firstOffset !== undefined ? `, offsets ${totals.firstOffset}–${totals.lastOffset}` : "";
    const dups = totals.duplicates > 0 ? `, ${totals.duplicates} already stored and not written again` : "";
    ctx.out.line(`published ${totals.committed} of ${plan.count} message(s) to ${plan.topic} in ${formatDuration(elapsedMs)} (${summary.ratePerSec} msg/s${offsets}${dups})`);
  }
  if (failure !== undefined) throw failure;
  if (stop.aborted) {
    ctx.err.line(`raftbus: interrupted after ${sent} of ${plan.count} message(s)`);
    return EXIT.FAILED;
  }
  return EXIT.OK;
}

/** The topic signing key of `--sign-key`, else RAFTBUS_SIGNING_KEY (an environment variable keeps the secret out of `ps`). @throws UsageError */
export async function signKeyOf(args: Args, env: Readonly<Record<string, string | undefined>>): Promise<TopicSigningKey | undefined> {
  const text = optString(args, "sign-key") ?? (env["RAFTBUS_SIGNING_KEY"] !== "" ? env["RAFTBUS_SIGNING_KEY"] : undefined);
  if (text === undefined) return undefined;
  // The protocol module (schemas, hashes) loads only when a key is given: CLI start-up stays light.
  const { parseTopicKey } = await import("@raftbus/client/protocol");
  try {
    return parseTopicKey(text);
  } catch (err) {
    if (err instanceof RaftbusError) throw new UsageError(`--sign-key: ${err.message}`, COMMAND);
    throw err;
  }
}

async function pub(args: Args, ctx: CommandContext): Promise<number> {
  const unsigned = pubPlan(args, ctx.io.stdin.isTTY);
  const sign = await signKeyOf(args, ctx.io.env);
  const plan = sign === undefined ? unsigned : { ...unsigned, options: { ...unsigned.options, sign } };
  const payload = await readPayload(plan.source, ctx.io.stdin);
  const client = await ctx.client();
  if (plan.count > 1 || plan.template) return publishMany(plan, payload, client, ctx);
  const ack = await client.publish(plan.topic, payload, { ...plan.options, timeoutMs: ctx.timeoutMs });
  if (ctx.json) ctx.out.json(ack);
  else ctx.out.line(describeAck(ack));
  return EXIT.OK;
}

/** Register `pub` under `y`. */
export function pubCommand(y: Argv, act: Act): Argv {
  return y.command(["pub <topic> [payload]", "publish"], "publish a message (payload from the argument, --file, or stdin)", (yy: Argv) => yy
    .positional("topic", { type: "string", describe: "topic to publish to (created on first publish unless the cluster is strict)" })
    .positional("payload", { type: "string", describe: "message body; JSON is sent as is" })
    .option("file", { alias: "f", type: "string", describe: "read the payload from this file (- for stdin)" })
    .option("priority", { alias: "p", type: "string", choices: [...PRIORITIES], describe: "dispatch priority (default medium)" })
    .option("ttl", { type: "string", describe: "expire the message after this long, e.g. 5m" })
    .option("header", { alias: "H", type: "string", array: true, nargs: 1, describe: "header key=value (repeatable)" })
    .option("id", { type: "string", describe: "message id; the cluster stores an id once (dedup)" })
    .option("guarantee", { alias: "g", type: "string", choices: [...GUARANTEES], describe: "delivery guarantee" })
    .option("correlation-id", { type: "string", describe: "request/reply correlation id" })
    .option("max-retries", { type: "number", describe: "redeliveries before the message goes to the dead-letter queue" })
    .option("count", { alias: "n", type: "number", describe: "publish this many messages (batched); {{.Count}} and {{.TimeStamp}} expand in payload, --id and headers" })
    .option("sign-key", { type: "string", describe: "sign with this topic signing key (rbtk1.…, from `raftbus key add`) [env RAFTBUS_SIGNING_KEY]" })
    .example("$0 pub demo hello", "")
    .example("$0 pub alerts '{\"usage\":93}' --priority critical --header host=db1 --ttl 5m", "")
    .example("$0 pub demo 'event {{.Count}}' --count 10000", "")
    .example("cat event.json | $0 pub demo", ""), act(COMMAND, pub, (args) => ({ topic: optString(args, "topic") })));
}

/**
 * The tiny HTTP API of the example key-value node (node:http, JSON bodies),
 * for tests, scripts and the commit benchmark. One handler per request kind;
 * expected failures map onto status codes with a stable `code`:
 *
 * | request                          | success                     | failures                                   |
 * |----------------------------------|-----------------------------|--------------------------------------------|
 * | `PUT /kv/:key` (body = value)    | 200 `{index}` once applied  | 421 NOT_LEADER `{leaderHint}`; 503 PROPOSAL_DROPPED / TIMEOUT / SHUTTING_DOWN |
 * | `POST /kv-batch` `{entries:[[k,v],…]}` | 200 `{results:[{index}｜{code}]}` | 421 NOT_LEADER (nothing proposed) |
 * | `GET /kv/:key[?linearizable=1]`  | 200 `{value, appliedIndex}` | 404 KEY_NOT_FOUND; 421 NOT_LEADER (linearizable on a follower) |
 * | `GET /kv[?limit=N]`              | 200 `{appliedIndex, size, pairs}` | |
 * | `GET /status`                    | 200 status object           |                                            |
 * | `POST /snapshot`                 | 200 `{snapshotIndex}`       |                                            |
 *
 * Bad requests answer 400 BAD_REQUEST, too-large bodies 413
 * PAYLOAD_TOO_LARGE, unknown paths 404 NOT_FOUND.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { Logger } from "../logging.ts";
import type { RaftNode } from "../node/raft-node.ts";
import { RaftError } from "../node/errors.ts";
import type { KvResult, KvStateMachine } from "./kv-state-machine.ts";
import { encodeKv } from "./kv-state-machine.ts";

/** Largest value of one PUT. */
export const VALUE_BYTES_MAX = 1024 * 1024;
/** Largest /kv-batch body. */
export const BATCH_BODY_BYTES_MAX = 16 * 1024 * 1024;
/** Most entries in one /kv-batch. */
export const BATCH_ENTRIES_MAX = 10_000;
/** Longest key. */
export const KEY_LENGTH_MAX = 256;
/** Most pairs one GET /kv returns. */
export const DUMP_PAIRS_MAX = 100_000;

/** What the HTTP API serves from. */
export interface KvHttpDeps {
  readonly node: RaftNode<KvResult | undefined>;
  readonly kv: KvStateMachine;
  /** The status object (core status, driver and transport stats, …). */
  readonly status: () => unknown;
  /** Index of the latest snapshot in storage. */
  readonly snapshotIndex: () => number;
  readonly logger: Logger;
}

/** An expected failure of one request, answered as `{code, message, ...extra}`. */
export class HttpError extends Error {
  override readonly name = "HttpError";

  constructor(readonly status: number, readonly code: string, message: string, readonly extra: object = {}) {
    super(message);
  }
}

type Handler = (req: IncomingMessage, url: URL, deps: KvHttpDeps, key: string) => Promise<[number, unknown]>;

/** Routes: method + path pattern → handler. `:key` is the rest of the path, URL-decoded. */
const ROUTES: readonly { method: string; path: RegExp; handler: Handler }[] = [
  { method: "PUT", path: /^\/kv\/(.+)$/, handler: handlePut },
  { method: "GET", path: /^\/kv\/(.+)$/, handler: handleGet },
  { method: "GET", path: /^\/kv$/, handler: handleDump },
  { method: "POST", path: /^\/kv-batch$/, handler: handleBatch },
  { method: "GET", path: /^\/status$/, handler: async (_r, _u, deps) => [200, deps.status()] },
  { method: "POST", path: /^\/snapshot$/, handler: handleSnapshot },
];

/** An HTTP server (not yet listening) serving the API above. */
export function createKvHttpServer(deps: KvHttpDeps): Server {
  const server = createServer((req, res) => {
    void serve(req, res, deps);
  });
  server.keepAliveTimeout = 30_000;
  return server;
}

async function serve(req: IncomingMessage, res: ServerResponse, deps: KvHttpDeps): Promise<void> {
  try {
    const url = new URL(req.url ?? "/", "http://localhost");
    const pathMatches = ROUTES.filter((r) => r.path.test(url.pathname));
    const route = pathMatches.find((r) => r.method === req.method);
    if (route === undefined) {
      req.resume();
      if (pathMatches.length > 0) throw new HttpError(405, "METHOD_NOT_ALLOWED", `${req.method ?? "?"} ${url.pathname}`);
      throw new HttpError(404, "NOT_FOUND", `no route ${url.pathname}`);
    }
    const key = decodeKey(route.path.exec(url.pathname)?.[1]);
    const [status, body] = await route.handler(req, url, deps, key);
    reply(res, status, body);
  } catch (err) {
    const e = toHttpError(err);
    if (e.status >= 500 && !(err instanceof RaftError)) deps.logger.error({ err: describe(err) }, "http request failed");
    reply(res, e.status, { code: e.code, message: e.message, ...e.extra });
  }
}

async function handlePut(req: IncomingMessage, _url: URL, deps: KvHttpDeps, key: string): Promise<[number, unknown]> {
  const value = (await readBody(req, VALUE_BYTES_MAX)).toString("utf8");
  const result = await deps.node.propose(encodeKv({ key, value }));
  return [200, { index: result?.index }];
}

async function handleGet(_req: IncomingMessage, url: URL, deps: KvHttpDeps, key: string): Promise<[number, unknown]> {
  if (url.searchParams.get("linearizable") === "1") await deps.node.readIndex();
  const value = deps.kv.get(key);
  if (value === undefined) throw new HttpError(404, "KEY_NOT_FOUND", `no key ${JSON.stringify(key)}`);
  return [200, { value, appliedIndex: deps.kv.appliedIndex() }];
}

async function handleDump(_req: IncomingMessage, url: URL, deps: KvHttpDeps): Promise<[number, unknown]> {
  const raw = url.searchParams.get("limit");
  const limit = raw === null ? 10_000 : Number(raw);
  if (!Number.isSafeInteger(limit) || limit < 0 || limit > DUMP_PAIRS_MAX) {
    throw new HttpError(400, "BAD_REQUEST", `limit must be an integer in [0, ${DUMP_PAIRS_MAX}]`);
  }
  return [200, { appliedIndex: deps.kv.appliedIndex(), size: deps.kv.size(), pairs: deps.kv.pairs(limit) }];
}

/**
 * Proposes every entry in the same event-loop turn, so the driver appends
 * them as one batch (one fsync); answers once all have an outcome.
 */
async function handleBatch(req: IncomingMessage, _url: URL, deps: KvHttpDeps): Promise<[number, unknown]> {
  const entries = parseBatch(await readBody(req, BATCH_BODY_BYTES_MAX));
  if (!deps.node.isLeader()) throw new RaftError("NOT_LEADER", "not the leader", deps.node.leaderId());
  const results = await Promise.all(entries.map(([key, value]) =>
    deps.node.propose(encodeKv({ key, value })).then(
      (r) => ({ index: r?.index }),
      (err: unknown) => {
        const e = toHttpError(err);
        return { code: e.code, ...e.extra };
      },
    )));
  return [200, { results }];
}

async function handleSnapshot(_req: IncomingMessage, _url: URL, deps: KvHttpDeps): Promise<[number, unknown]> {
  await deps.node.snapshotNow();
  return [200, { snapshotIndex: deps.snapshotIndex(), appliedIndex: deps.kv.appliedIndex() }];
}

/** `{entries: [[key, value], ...]}`, validated: the body is untrusted input. */
function parseBatch(body: Buffer): [string, string][] {
  let v: unknown;
  try {
    v = JSON.parse(body.toString("utf8"));
  } catch {
    throw new HttpError(400, "BAD_REQUEST", "body is not JSON");
  }
  const entries = typeof v === "object" && v !== null ? (v as Record<string, unknown>)["entries"] : undefined;
  if (!Array.isArray(entries) || entries.length > BATCH_ENTRIES_MAX) {
    throw new HttpError(400, "BAD_REQUEST", `entries must be an array of at most ${BATCH_ENTRIES_MAX} [key, value] pairs`);
  }
  return entries.map((e: unknown, i) => {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[1] !== "string" || Buffer.byteLength(e[1]) > VALUE_BYTES_MAX) {
      throw new HttpError(400, "BAD_REQUEST", `entries[${i}] is not a [key, value] pair of strings`);
    }
    return [checkKey(e[0]), e[1]];
  });
}

/** The `:key` path segment, URL-decoded and checked; "" for routes without one. */
function decodeKey(raw: string | undefined): string {
  if (raw === undefined) return "";
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, "BAD_REQUEST", "key is not valid URL encoding");
  }
  return checkKey(key);
}

function checkKey(key: unknown): string {
  if (typeof key !== "string" || key.length === 0 || key.length > KEY_LENGTH_MAX) {
    throw new HttpError(400, "BAD_REQUEST", `key must be a string of 1..${KEY_LENGTH_MAX} characters`);
  }
  return key;
}

/** Bytes of an oversized body read (and discarded) so the 413 reaches the client; beyond it the socket is dropped. */
const DISCARD_BYTES_MAX = 1024 * 1024;

/** Reads the whole body, refusing more than `maxBytes` (the rest is discarded, up to a limit). */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let bytes = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      bytes += chunk.byteLength;
      if (bytes > maxBytes) tooLarge = true;
      if (!tooLarge) parts.push(chunk);
      if (bytes > maxBytes + DISCARD_BYTES_MAX) req.destroy();
    });
    req.on("end", () => {
      if (tooLarge) reject(new HttpError(413, "PAYLOAD_TOO_LARGE", `body exceeds ${maxBytes} bytes`));
      else resolve(Buffer.concat(parts));
    });
    req.on("error", reject);
  });
}

/** Maps a failure onto its HTTP answer. RaftError codes keep their names. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof RaftError) {
    switch (err.code) {
      case "NOT_LEADER":
        return new HttpError(421, err.code, err.message, { leaderHint: err.leaderHint });
      case "INVALID_CONF_CHANGE":
        return new HttpError(400, err.code, err.message);
      case "PROPOSAL_DROPPED":
      case "TIMEOUT":
      case "SHUTTING_DOWN":
        return new HttpError(503, err.code, err.message);
    }
  }
  return new HttpError(500, "INTERNAL", err instanceof Error ? err.message : String(err));
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** A loggable view of an error. */
export function describe(err: unknown): object {
  if (!(err instanceof Error)) return { message: String(err) };
  const code = (err as { code?: unknown }).code;
  return { name: err.name, message: err.message, ...(typeof code === "string" ? { code } : {}), stack: err.stack };
}

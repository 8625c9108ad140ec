/**
 * Message header validation (SPEC.md §2: headers are string → string, with
 * count/size limits and clear errors). Headers arrive decoded from msgpack as
 * `unknown` (STYLE.md practice 9), so the shape is checked here, once, before
 * anything is proposed to the log.
 *
 * Size violations are `HEADERS_TOO_LARGE`; shape violations (not an object,
 * non-string value, bad key characters) are `INVALID_ARGUMENT`.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import { utf8ByteLength } from "./utf8.ts";

/** Most headers on one message. */
export const HEADERS_COUNT_MAX = 64;
/** Longest header key, in UTF-8 bytes. */
export const HEADER_KEY_BYTES_MAX = 128;
/** Longest header value, in UTF-8 bytes. */
export const HEADER_VALUE_BYTES_MAX = 4096;
/** Sum of all key and value bytes on one message: 16 KiB. */
export const HEADERS_TOTAL_BYTES_MAX = 16 * 1024;

const KEY_RE = /^[A-Za-z0-9_.-]+$/;

/**
 * Checks `headers` (a decoded wire value) and returns a fresh plain
 * `Record<string, string>` copy. `undefined` means "no headers" and yields
 * `{}`; `null`, arrays and non-plain objects are rejected.
 *
 * @throws RaftbusError `HEADERS_TOO_LARGE` when a count or size limit is exceeded,
 *   `INVALID_ARGUMENT` when the shape or a key's characters are wrong.
 */
export function validateHeaders(headers: unknown): Record<string, string> {
  if (headers === undefined) return {};
  if (!isPlainObject(headers)) throw invalidArgument(`headers must be an object of string values, got ${describe(headers)}`);
  const keys = Object.keys(headers);
  if (keys.length > HEADERS_COUNT_MAX) {
    throw tooLarge(`message has ${keys.length} headers; the limit is ${HEADERS_COUNT_MAX}`);
  }
  const out: Record<string, string> = {};
  let totalBytes = 0;
  for (const key of keys) {
    const value: unknown = headers[key];
    totalBytes += checkKey(key) + checkValue(key, value);
    out[key] = value as string; // checkValue proved it is a string
  }
  if (totalBytes > HEADERS_TOTAL_BYTES_MAX) {
    throw tooLarge(`headers total ${totalBytes} bytes; the limit is ${HEADERS_TOTAL_BYTES_MAX}`);
  }
  return out;
}

/** Validates one key and returns its byte length. */
function checkKey(key: string): number {
  const bytes = utf8ByteLength(key);
  if (bytes > HEADER_KEY_BYTES_MAX) {
    throw tooLarge(`header key '${key.slice(0, 32)}…' is ${bytes} bytes; the limit is ${HEADER_KEY_BYTES_MAX}`);
  }
  if (!KEY_RE.test(key)) {
    throw invalidArgument(`header key ${JSON.stringify(key)} is invalid: keys are non-empty and allow only A-Z a-z 0-9 _ . -`);
  }
  // A plain object cannot hold an own "__proto__" entry by assignment: it would
  // silently vanish from the copy, so it is refused instead.
  if (key === "__proto__") throw invalidArgument("header key '__proto__' is reserved");
  return bytes;
}

/** Validates one value and returns its byte length. */
function checkValue(key: string, value: unknown): number {
  if (typeof value !== "string") throw invalidArgument(`header '${key}' must be a string, got ${describe(value)}`);
  const bytes = utf8ByteLength(value);
  if (bytes > HEADER_VALUE_BYTES_MAX) {
    throw tooLarge(`header '${key}' value is ${bytes} bytes; the limit is ${HEADER_VALUE_BYTES_MAX}`);
  }
  return bytes;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "a non-plain object" : typeof v;
}

function tooLarge(message: string): RaftbusError {
  return new RaftbusError("HEADERS_TOO_LARGE", message);
}

function invalidArgument(message: string): RaftbusError {
  return new RaftbusError("INVALID_ARGUMENT", message);
}

/**
 * How messages, payloads and times look: for people (headers, pretty JSON,
 * relative times) and for scripts (`--json`: plain JSON values, payloads as
 * JSON, text or base64 with the encoding named).
 */
import { SYS_SIGNATURE_HEADER } from "@raftbus/client/vocabulary";
import type { DeadLetter, StoredMessage, SysVerification } from "@raftbus/client";
import type { Styler } from "./style.ts";
import { formatDuration } from "../util/units.ts";

/** A payload decoded for display. */
export type PayloadView =
  | { readonly encoding: "json"; readonly value: unknown; readonly text: string }
  | { readonly encoding: "utf8"; readonly text: string }
  | { readonly encoding: "base64"; readonly base64: string; readonly bytes: number };

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
/** Control characters other than tab, newline and carriage return: such payloads are shown as bytes, never sent to a terminal. */
const CONTROL_RE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Decode a payload: JSON when it parses, else UTF-8 text, else base64. */
export function payloadView(bytes: Uint8Array): PayloadView {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch (err) {
    void err; // not UTF-8: binary
    return { encoding: "base64", base64: Buffer.from(bytes).toString("base64"), bytes: bytes.byteLength };
  }
  if (CONTROL_RE.test(text)) return { encoding: "base64", base64: Buffer.from(bytes).toString("base64"), bytes: bytes.byteLength };
  const trimmed = text.trim();
  // Only objects, arrays and quoted strings count as JSON: `42` or `true` typed as text stay text.
  if (trimmed.startsWith("{") || trimmed.startsWith("[") || trimmed.startsWith("\"")) {
    try {
      return { encoding: "json", value: JSON.parse(trimmed) as unknown, text };
    } catch (err) {
      void err; // looked like JSON but is not: show the text
    }
  }
  return { encoding: "utf8", text };
}

/** The payload for people: pretty JSON, the text, or a base64 line saying it is binary. */
export function payloadForHumans(bytes: Uint8Array, style: Styler): string {
  const view = payloadView(bytes);
  switch (view.encoding) {
    case "json":
      return JSON.stringify(view.value, null, 2);
    case "utf8":
      return view.text;
    case "base64":
      return `${style("dim", `(binary, ${view.bytes} bytes, base64)`)} ${view.base64}`;
  }
}

/** The payload on one line, cut to `width` (tables). */
export function payloadPreview(bytes: Uint8Array): string {
  const view = payloadView(bytes);
  switch (view.encoding) {
    case "json":
      return JSON.stringify(view.value);
    case "utf8":
      return view.text;
    case "base64":
      return `(binary ${view.bytes} B) ${view.base64}`;
  }
}

/** The payload fields of a `--json` message: `payload` plus `payloadEncoding` (json, utf8 or base64). */
export function payloadJson(bytes: Uint8Array): { payload: unknown; payloadEncoding: PayloadView["encoding"] } {
  const view = payloadView(bytes);
  switch (view.encoding) {
    case "json":
      return { payload: view.value, payloadEncoding: "json" };
    case "utf8":
      return { payload: view.text, payloadEncoding: "utf8" };
    case "base64":
      return { payload: view.base64, payloadEncoding: "base64" };
  }
}

/** ISO-8601 UTC time of a timestamp in ms. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** `3m ago`, `just now`, `in 5s` relative to `now`. */
export function ago(ms: number, now: number): string {
  // Whole seconds: "3.86s ago" is more precision than anyone reads.
  const d = Math.round((now - ms) / 1000) * 1000;
  if (Math.abs(d) < 1000) return "just now";
  return d > 0 ? `${formatDuration(d)} ago` : `in ${formatDuration(-d)}`;
}

/** A message as one `--json` line: every envelope field, times in ms and ISO, the payload decoded. */
export function messageJson(m: StoredMessage & { readonly attempt?: number; readonly verification?: SysVerification }): Record<string, unknown> {
  return {
    ...(m.verification !== undefined && m.verification !== "not-signed" ? { verification: m.verification } : {}),
    topic: m.topic,
    offset: m.offset,
    index: m.index,
    id: m.id,
    priority: m.priority,
    guarantee: m.guarantee,
    timestamp: m.timestamp,
    time: isoTime(m.timestamp),
    senderId: m.senderId,
    ...(m.attempt !== undefined ? { attempt: m.attempt } : {}),
    ...(m.ttlMs !== undefined ? { ttlMs: m.ttlMs } : {}),
    ...(m.correlationId !== undefined ? { correlationId: m.correlationId } : {}),
    maxRetries: m.maxRetries,
    headers: m.headers,
    ...payloadJson(m.payload),
  };
}

/** How `sub` shows a system message's signature check. */
const VERIFICATION: Readonly<Record<Exclude<SysVerification, "not-signed">, (style: Styler, sig: string) => string>> = {
  verified: (style, sig) => style("green", `✓ signature verified (key ${sig.split(".")[1] ?? "?"})`),
  unsigned: (style) => style("yellow", "unsigned (cluster runs without a secret)"),
  invalid: (style) => style("red", "✗ signature INVALID"),
  "unknown-key": (style, sig) => style("yellow", `signed by unknown key ${sig.split(".")[1] ?? "?"} (add it to RAFTBUS_SYSTEM_KEYS)`),
  "no-keys": (style) => style("yellow", "signature not checked (set RAFTBUS_SYSTEM_KEYS; see `raftbus sys key`)"),
};

/** A dead letter as JSON: its DLQ fields and the message. */
export function deadLetterJson(d: DeadLetter): Record<string, unknown> {
  return {
    dlqId: d.dlqId,
    subscription: d.subscription,
    reason: d.reason,
    attempts: d.attempts,
    deadAt: d.deadAt,
    deadTime: isoTime(d.deadAt),
    message: messageJson(d.message),
  };
}

const PRIORITY_STYLE = { critical: "red", high: "yellow", medium: undefined, low: "dim" } as const;

/**
 * A received message for people, like `nats sub`:
 *
 *     [#1] demo @ 0  high  2026-01-01T10:00:00.000Z  id 3f9a…
 *     host: db1
 *
 *     {"usage": 93}
 */
export function messageForHumans(m: StoredMessage & { readonly attempt?: number; readonly verification?: SysVerification }, seq: number, style: Styler): string[] {
  const priorityStyle = PRIORITY_STYLE[m.priority];
  const parts = [
    style("bold", `[#${seq}]`),
    `${style("cyan", m.topic)} @ ${m.offset}`,
    priorityStyle === undefined ? m.priority : style(priorityStyle, m.priority),
    style("dim", isoTime(m.timestamp)),
    style("dim", `id ${m.id}`),
  ];
  if (m.attempt !== undefined && m.attempt > 1) parts.push(style("yellow", `redelivery ${m.attempt - 1}`));
  if (m.correlationId !== undefined) parts.push(style("dim", `correlation ${m.correlationId}`));
  if (m.ttlMs !== undefined) parts.push(style("dim", `ttl ${formatDuration(m.ttlMs)}`));
  const v = m.verification;
  if (v !== undefined && v !== "not-signed") parts.push(VERIFICATION[v](style, m.headers[SYS_SIGNATURE_HEADER] ?? ""));
  const headers = Object.entries(m.headers).map(([k, v]) => `${style("magenta", k)}: ${v}`);
  return [parts.join("  "), ...headers, "", payloadForHumans(m.payload, style), ""];
}

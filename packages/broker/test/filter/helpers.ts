/** Shared helpers for the filter tests. */
import { RaftbusError } from "@raftbus/client/protocol";
import type { FilterInput } from "../../src/filter/index.ts";

/** A message with these headers and `payload` as JSON (or raw bytes / text). */
export function msg(headers: Record<string, string>, payload?: unknown): FilterInput {
  const bytes =
    payload instanceof Uint8Array ? payload : new TextEncoder().encode(typeof payload === "string" ? payload : payload === undefined ? "" : JSON.stringify(payload));
  return { headers, payload: bytes };
}

/** The RaftbusError `fn` throws (fails the test when it throws nothing or something else). */
export function raftbusError(fn: () => unknown): RaftbusError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RaftbusError) return e;
    throw e;
  }
  throw new Error("expected a RaftbusError");
}

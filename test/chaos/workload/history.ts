/**
 * The history of a chaos run: every client operation with its invocation
 * and completion time, the node that served it, its outcome and error
 * code; every delivery a subscriber saw; every fault window. Written as
 * JSON lines while the run goes (history.jsonl) and kept in memory for the
 * checker. Bounded: past {@link HISTORY_RECORDS_MAX} records the history is
 * marked truncated and the checker refuses to judge completeness.
 */
import { createWriteStream, readFileSync, type WriteStream } from "node:fs";

/** Upper bound on records (a 10-minute run records a few hundred thousand). */
export const HISTORY_RECORDS_MAX = 3_000_000;

/** What became of an operation. `unknown`: it may or may not have taken effect (timeout, lost connection). */
export type Outcome = "ok" | "fail" | "unknown";

/** A client operation. */
export interface OpRecord {
  readonly t: "op";
  readonly proc: string;
  readonly f: "publish" | "produce" | "request" | "ack" | "topic-create" | "topic-delete";
  readonly start: number;
  readonly end: number;
  readonly outcome: Outcome;
  readonly error?: string;
  readonly node?: string;
  readonly value: OpValue;
}

/** Fields of an operation (which apply depends on `f`). */
export interface OpValue {
  readonly key?: string;
  readonly topic?: string;
  readonly offset?: number;
  readonly duplicate?: boolean;
  readonly sub?: string;
  readonly reply?: string;
}

/** A message handed to a subscriber's handler. */
export interface DeliveryRecord {
  readonly t: "deliver";
  readonly proc: string;
  readonly sub: string;
  readonly time: number;
  readonly node?: string;
  readonly key: string;
  readonly topic: string;
  readonly offset: number;
  readonly attempt: number;
  readonly redelivered: boolean;
}

/** The start or end of a fault. */
export interface FaultRecord {
  readonly t: "fault";
  readonly time: number;
  readonly phase: "start" | "end";
  readonly kind: string;
  readonly detail: string;
}

/** A free-form event worth keeping (leader changes, crashes, notes). */
export interface NoteRecord {
  readonly t: "note";
  readonly time: number;
  readonly text: string;
}

/** One line of history.jsonl. */
export type HistoryRecord = OpRecord | DeliveryRecord | FaultRecord | NoteRecord;

/** Classify an error code: refused before anything was proposed (`fail`) or outcome unknown. */
export function outcomeOf(code: string | undefined): Outcome {
  const refused = new Set([
    "INVALID_TOPIC", "INVALID_PATTERN", "INVALID_FILTER", "INVALID_ARGUMENT", "BAD_REQUEST", "PAYLOAD_TOO_LARGE",
    "HEADERS_TOO_LARGE", "TOPIC_NOT_FOUND", "TOPIC_EXISTS", "NOT_LEADER", "NO_LEADER", "RATE_LIMITED", "BACKPRESSURE",
    "UNAUTHORIZED", "FORBIDDEN", "UNSUPPORTED_VERSION", "SUBSCRIPTION_NOT_FOUND",
  ]);
  return code !== undefined && refused.has(code) ? "fail" : "unknown";
}

/** The error code of a thrown value (`UNEXPECTED` for non-SDK errors). */
export function codeOf(err: unknown): string {
  const c = (err as { code?: unknown } | undefined)?.code;
  return typeof c === "string" ? c : "UNEXPECTED";
}

/** Recorder of one run's history. */
export class History {
  readonly records: HistoryRecord[] = [];
  truncated = false;
  private readonly out: WriteStream | undefined;

  constructor(file?: string) {
    this.out = file === undefined ? undefined : createWriteStream(file, { flags: "w" });
  }

  /** Append one record. */
  add(r: HistoryRecord): void {
    if (this.records.length >= HISTORY_RECORDS_MAX) {
      this.truncated = true;
      return;
    }
    this.records.push(r);
    this.out?.write(`${JSON.stringify(r)}\n`);
  }

  /** Record a note now. */
  note(text: string): void {
    this.add({ t: "note", time: Date.now(), text });
  }

  /** Flush and close the file. */
  async close(): Promise<void> {
    const out = this.out;
    if (out === undefined) return;
    await new Promise<void>((resolve) => out.end(resolve));
  }

  /** Read a history file back (for re-checking a finished run). */
  static read(file: string): HistoryRecord[] {
    return readFileSync(file, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as HistoryRecord);
  }
}

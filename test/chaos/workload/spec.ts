/**
 * The workload's topics and subscriptions, shared by the workload (which
 * creates them) and the checker (which judges each by its promise).
 * Every message carries a unique key `k` in its JSON payload; that key, not
 * the envelope id, is what the checker follows from publish to replicas and
 * subscribers.
 */

/** The payload every workload message carries. */
export interface WorkloadPayload {
  /** Unique per logical message (a resend keeps it). */
  readonly k: string;
  /** Severity, for the filtered subscription. */
  readonly sev: "critical" | "info";
  /** Mark: the at-least-once handler always fails this message, so it must end in the DLQ. */
  readonly poison?: boolean;
}

/** Topics whose whole log the checker judges (never deleted, no retention). */
export const CHECKED_TOPICS = ["chaos.orders", "chaos.events", "chaos.alerts.disk", "chaos.alerts.cpu"] as const;

/** How a subscription is consumed. */
export interface SubSpec {
  readonly name: string;
  readonly pattern: string;
  readonly guarantee: "at-most-once" | "at-least-once" | "exactly-once";
  /** Durable (named) or ephemeral. */
  readonly durable: boolean;
  /** Work-queue members (clients sharing the name). */
  readonly members: number;
  readonly filter?: string;
  /** Which stored messages the subscription must see (the filter as a predicate). */
  readonly matches: (topic: string, p: WorkloadPayload) => boolean;
  /** Redeliveries before the DLQ. */
  readonly maxRetries?: number;
  readonly ackTimeoutMs?: number;
}

/** The workload's subscriptions. */
export const SUBSCRIPTIONS: readonly SubSpec[] = [
  {
    name: "alo-orders", pattern: "chaos.orders", guarantee: "at-least-once", durable: true, members: 1,
    matches: (t) => t === "chaos.orders", maxRetries: 2, ackTimeoutMs: 4000,
  },
  {
    name: "eo-orders", pattern: "chaos.orders", guarantee: "exactly-once", durable: true, members: 1,
    matches: (t) => t === "chaos.orders", ackTimeoutMs: 4000,
  },
  {
    name: "wq-events", pattern: "chaos.events", guarantee: "at-least-once", durable: true, members: 3,
    matches: (t) => t === "chaos.events", ackTimeoutMs: 4000,
  },
  {
    name: "amo-events", pattern: "chaos.events", guarantee: "at-most-once", durable: false, members: 1,
    matches: (t) => t === "chaos.events",
  },
  {
    name: "filt-alerts", pattern: "chaos.alerts.*", guarantee: "at-least-once", durable: true, members: 1,
    filter: "sev == 'critical'", matches: (t, p) => t.startsWith("chaos.alerts.") && p.sev === "critical", ackTimeoutMs: 4000,
  },
];

/** Parse a payload back; undefined when it is not a workload message. */
export function parsePayload(bytes: Uint8Array | string): WorkloadPayload | undefined {
  try {
    const v = JSON.parse(typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("utf8")) as unknown;
    const p = v as WorkloadPayload;
    return typeof v === "object" && v !== null && typeof p.k === "string" && (p.sev === "critical" || p.sev === "info") ? p : undefined;
  } catch {
    return undefined;
  }
}

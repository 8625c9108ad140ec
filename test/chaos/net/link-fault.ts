/**
 * What the network does to one direction of one peer link ("n1>n2" is what
 * n1 sends to n2). Shared by the fault layers, the sidecar proxy and the
 * schedule.
 */

/** Faults on one direction of a link; absent fields mean "no fault". */
export interface LinkFault {
  /** Nothing gets through (a partition). */
  readonly blocked?: boolean;
  /** Probability that a whole WebSocket message is dropped. */
  readonly lossRate?: number;
  /** Added one-way delay. */
  readonly delayMs?: number;
  /** Extra random delay in [0, jitterMs). */
  readonly jitterMs?: number;
  /** Let jittered messages overtake each other. */
  readonly reorder?: boolean;
}

/** Link faults by directed link key `from>to`. */
export type LinkFaults = Readonly<Record<string, LinkFault>>;

/** The key of the direction `from` → `to`. */
export function linkKey(from: string, to: string): string {
  return `${from}>${to}`;
}

/** Unordered pairs of nodes that cannot reach each other at all. */
export type Cuts = readonly (readonly [string, string])[];

/** Turn cuts into blocked link faults in both directions, merged over `faults`. */
export function cutsAsFaults(cuts: Cuts, faults: LinkFaults): LinkFaults {
  const out: Record<string, LinkFault> = { ...faults };
  for (const [a, b] of cuts) {
    out[linkKey(a, b)] = { ...out[linkKey(a, b)], blocked: true };
    out[linkKey(b, a)] = { ...out[linkKey(b, a)], blocked: true };
  }
  return out;
}

/** Check a value that came over a pipe is LinkFaults. */
export function isLinkFaults(v: unknown): v is LinkFaults {
  if (typeof v !== "object" || v === null) return false;
  return Object.entries(v).every(([k, f]) => /^[^>]+>[^>]+$/.test(k) && typeof f === "object" && f !== null &&
    Object.entries(f as Record<string, unknown>).every(([fk, fv]) =>
      (fk === "blocked" || fk === "reorder") ? typeof fv === "boolean" : ["lossRate", "delayMs", "jitterMs"].includes(fk) && typeof fv === "number" && fv >= 0));
}

/**
 * The nine families of system events (docs/system-events.md) and their
 * settings: on/off, minimum severity, interval and whether periodic
 * families report when nothing changed. Defaults keep an idle cluster
 * silent: every family reports what happens, and the periodic ones
 * (health, metrics) report at their interval only when something changed
 * or traffic flowed, unless `periodic` is set.
 */
import { RaftbusError, SEVERITIES, SYS_FAMILIES } from "@raftbus/client/protocol";
import type { Severity, SysFamily } from "@raftbus/client/protocol";
import type { Retention } from "../config.ts";

export { SEVERITIES, SYS_FAMILIES };
export type { Severity, SysFamily };

/** The settings of one family. */
export interface FamilySettings {
  readonly enabled: boolean;
  /** Events below this severity are not published. */
  readonly minSeverity: Severity;
  /** Health and metrics: how often they report (ms). Ignored by event-driven families. */
  readonly intervalMs: number;
  /**
   * Health and metrics: report every interval even when nothing changed
   * (a heartbeat; an idle cluster then writes to disk at that rate).
   */
  readonly periodic: boolean;
}

/** Settings of every family. */
export type SysSettings = Readonly<Record<SysFamily, FamilySettings>>;

/** Overrides of some fields of some families (what `raftbus sys set` replicates). */
export type SysOverrides = Readonly<Partial<Record<SysFamily, Partial<FamilySettings>>>>;

const EVENT: FamilySettings = { enabled: true, minSeverity: "info", intervalMs: 0, periodic: false };

/** The defaults (the seed's intervals: health 30 s, metrics 60 s). */
export const DEFAULT_SYS_SETTINGS: SysSettings = {
  system: EVENT,
  health: { ...EVENT, intervalMs: 30_000 },
  metrics: { ...EVENT, intervalMs: 60_000 },
  lifecycle: EVENT,
  alerts: EVENT,
  audit: EVENT,
  security: EVENT,
  diagnostics: EVENT,
  logging: { ...EVENT, minSeverity: "warning" },
};

/**
 * Retention of every `$sys.` topic: bounded by default so the cluster's
 * own events never fill its disk (the newest 1,000 per topic, a day at most).
 */
export const SYS_RETENTION: Retention = { maxMessages: 1000, maxAgeMs: 24 * 3_600_000 };

/** Shortest interval a periodic family may be set to. */
export const INTERVAL_MIN_MS = 1000;

/** True when `v` names a family. */
export function isSysFamily(v: unknown): v is SysFamily {
  return typeof v === "string" && (SYS_FAMILIES as readonly string[]).includes(v);
}

/** Numeric rank of a severity (info 0 … critical 2). */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** Settings with overrides applied. */
export function effectiveSettings(base: SysSettings, overrides: SysOverrides): SysSettings {
  const out = {} as Record<SysFamily, FamilySettings>;
  for (const f of SYS_FAMILIES) out[f] = { ...base[f], ...overrides[f] };
  return out;
}

/**
 * Validate overrides from the wire, the config file or the replicated
 * control topic; INVALID_ARGUMENT names the bad field.
 */
export function validateOverrides(v: unknown): SysOverrides {
  const bad = (why: string): never => {
    throw new RaftbusError("INVALID_ARGUMENT", `system event settings: ${why}`);
  };
  if (typeof v !== "object" || v === null || Array.isArray(v)) return bad("must be an object of families");
  const out: Partial<Record<SysFamily, Partial<FamilySettings>>> = {};
  for (const [family, fields] of Object.entries(v)) {
    if (!isSysFamily(family)) return bad(`unknown family "${family}" (known: ${SYS_FAMILIES.join(", ")})`);
    if (typeof fields !== "object" || fields === null || Array.isArray(fields)) return bad(`${family} must be an object`);
    const f: { -readonly [K in keyof FamilySettings]?: FamilySettings[K] } = {};
    for (const [k, x] of Object.entries(fields as Record<string, unknown>)) {
      switch (k) {
        case "enabled":
        case "periodic":
          if (typeof x !== "boolean") return bad(`${family}.${k} must be true or false`);
          f[k] = x;
          break;
        case "minSeverity":
          if (!(SEVERITIES as readonly unknown[]).includes(x)) return bad(`${family}.minSeverity must be one of ${SEVERITIES.join(", ")}`);
          f.minSeverity = x as Severity;
          break;
        case "intervalMs":
          if (typeof x !== "number" || !Number.isInteger(x) || x < INTERVAL_MIN_MS || x > 86_400_000) {
            return bad(`${family}.intervalMs must be a whole number of ms between ${INTERVAL_MIN_MS} and 86400000`);
          }
          f.intervalMs = x;
          break;
        default:
          return bad(`${family}.${k} is not a setting (enabled, minSeverity, intervalMs, periodic)`);
      }
    }
    out[family] = f;
  }
  return out;
}

/** Merge `change` into `overrides` (the result is what `sys set` replicates). */
export function mergeOverrides(overrides: SysOverrides, change: SysOverrides): SysOverrides {
  const out: Partial<Record<SysFamily, Partial<FamilySettings>>> = { ...overrides };
  for (const f of SYS_FAMILIES) {
    const c = change[f];
    if (c !== undefined) out[f] = { ...overrides[f], ...c };
  }
  return out;
}

/**
 * Durations and sizes as people type them on a command line: `500ms`, `30s`,
 * `5m`, `2h`, `1d`, `1h30m`; `512B`, `64KB`, `50MB`, `1MiB`. Parsers return
 * undefined for anything else, so each caller names the flag in its error.
 * (The broker has its own parsers for node config; the CLI does not import
 * broker internals, STYLE.md practice 11.)
 */

/** Milliseconds per duration unit. */
const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Bytes per size unit; SI (`KB` = 1000) and IEC (`KiB` = 1024), matched case-insensitively. */
const SIZE_UNITS_BYTES: Readonly<Record<string, number>> = {
  b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
};

/** One `<number><unit>` part of a duration; a duration is one or more of them (`1h30m`). */
const DURATION_PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

/** How to write a duration, for error messages. */
export const DURATION_HINT = "a number and a unit: 500ms, 30s, 5m, 2h, 1d (or 1h30m)";
/** How to write a size, for error messages. */
export const SIZE_HINT = "a number of bytes or a number and a unit: 512B, 64KB, 50MB, 1MiB, 2GiB";

/**
 * Parse a duration into whole milliseconds (rounded). A unit is required, so
 * `500` (ms? s?) is refused; `0s` is 0. Returns undefined when `text` is not a
 * duration or exceeds the largest safe integer.
 */
export function parseDuration(text: string): number | undefined {
  const s = text.trim().toLowerCase();
  if (s.length === 0) return undefined;
  DURATION_PART_RE.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  // Each turn consumes at least 2 characters, so the loop ends within s.length turns.
  for (let m = DURATION_PART_RE.exec(s); m !== null; m = DURATION_PART_RE.exec(s)) {
    const unit = DURATION_UNITS_MS[m[2] ?? ""];
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
    consumed = DURATION_PART_RE.lastIndex;
  }
  if (consumed !== s.length) return undefined;
  const ms = Math.round(total);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * Parse a size into bytes (rounded). A bare number is bytes; units are
 * case-insensitive. Returns undefined when `text` is not a size or exceeds
 * the largest safe integer.
 */
export function parseSize(text: string): number | undefined {
  const m = SIZE_RE.exec(text.trim());
  if (m === null) return undefined;
  const unit = SIZE_UNITS_BYTES[(m[2] ?? "").toLowerCase() || "b"];
  if (unit === undefined) return undefined;
  const bytes = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** A duration for people: `850ms`, `12.5s`, `5m`, `2h10m`, `3d4h`. Negative values are shown as 0ms. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return "0ms";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${trimZero((ms / 1000).toFixed(ms < 10_000 ? 2 : 1))}s`;
  const pairs: readonly (readonly [number, string])[] = [[86_400_000, "d"], [3_600_000, "h"], [60_000, "m"], [1000, "s"]];
  let rest = Math.round(ms / 1000) * 1000;
  const parts: string[] = [];
  for (const [unit, name] of pairs) {
    if (rest >= unit) {
      parts.push(`${Math.floor(rest / unit)}${name}`);
      rest %= unit;
    }
    // Two units are precise enough for a person (3d4h, not 3d4h12m5s).
    if (parts.length === 2) break;
  }
  return parts.join("");
}

/** A byte count for people, in IEC units: `512 B`, `1.5 KiB`, `50 MiB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.round(Number.isFinite(bytes) ? bytes : 0))} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = "B";
  for (const u of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  return `${trimZero(value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0))} ${unit}`;
}

/**
 * A configured size as it was probably typed: the largest unit that divides
 * it exactly (`50 MB`, `1 MiB`, `1536 B`), else {@link formatBytes}.
 */
export function formatSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes <= 0) return formatBytes(bytes);
  const exact: readonly (readonly [number, string])[] = [
    [1024 ** 4, "TiB"], [1e12, "TB"], [1024 ** 3, "GiB"], [1e9, "GB"], [1024 ** 2, "MiB"], [1e6, "MB"], [1024, "KiB"], [1e3, "KB"],
  ];
  for (const [unit, name] of exact) if (bytes >= unit && bytes % unit === 0) return `${bytes / unit} ${name}`;
  return formatBytes(bytes);
}

function trimZero(fixed: string): string {
  return fixed.includes(".") ? fixed.replace(/\.?0+$/, "") : fixed;
}

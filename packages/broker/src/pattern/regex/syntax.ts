/**
 * The regex AST of the safe subset (see safe-regex.ts for why a subset).
 * Groups leave no node of their own: nothing is captured, so `(ab)` is just
 * the concatenation `ab`.
 */

/**
 * A set of UTF-16 code units: sorted, non-overlapping inclusive `[lo, hi]`
 * pairs flattened into one array, optionally complemented.
 */
export interface CharSet {
  readonly ranges: readonly number[];
  readonly negated: boolean;
}

/** One node of a parsed safe regex. */
export type RegexNode =
  | { readonly type: "empty" }
  | { readonly type: "char"; readonly set: CharSet }
  | { readonly type: "assert"; readonly at: "start" | "end" }
  | { readonly type: "concat"; readonly items: readonly RegexNode[] }
  | { readonly type: "alt"; readonly options: readonly RegexNode[] }
  /** `max` is `Infinity` for `*`, `+` and `{n,}`. */
  | { readonly type: "repeat"; readonly item: RegexNode; readonly min: number; readonly max: number };

/** True when code unit `c` is in `set`. */
export function charSetHas(set: CharSet, c: number): boolean {
  const r = set.ranges;
  let inside = false;
  for (let i = 0; i + 1 < r.length; i += 2) {
    const lo = r[i] ?? 0;
    if (c < lo) break; // ranges are sorted: nothing further can contain c
    if (c <= (r[i + 1] ?? -1)) {
      inside = true;
      break;
    }
  }
  return inside !== set.negated;
}

/** Sorts and merges `[lo, hi]` pairs so {@link charSetHas} can stop early. */
export function normalizeRanges(pairs: readonly (readonly [number, number])[]): number[] {
  const sorted = [...pairs].sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of sorted) {
    const lastHi = out[out.length - 1];
    if (lastHi !== undefined && lo <= lastHi + 1) out[out.length - 1] = Math.max(lastHi, hi);
    else out.push(lo, hi);
  }
  return out;
}

const DIGIT: readonly (readonly [number, number])[] = [[0x30, 0x39]];
const WORD: readonly (readonly [number, number])[] = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
// ECMAScript WhiteSpace + LineTerminator, so `\s` means what it means in JS.
const SPACE: readonly (readonly [number, number])[] = [
  [0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a],
  [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff],
];
// `.` excludes line terminators, as in a JS regex without the `s` flag.
const LINE_TERMINATORS: readonly (readonly [number, number])[] = [[0x0a, 0x0a], [0x0d, 0x0d], [0x2028, 0x2029]];

/** The ranges of a class escape letter (`d`, `w`, `s`), or undefined. */
export function classEscapeRanges(letter: string): readonly (readonly [number, number])[] | undefined {
  switch (letter.toLowerCase()) {
    case "d": return DIGIT;
    case "w": return WORD;
    case "s": return SPACE;
    default: return undefined;
  }
}

/** The set `.` matches. */
export const DOT_SET: CharSet = { ranges: normalizeRanges(LINE_TERMINATORS), negated: true };

/** Complement of a range list within the UTF-16 code unit space. */
export function complementRanges(ranges: readonly number[]): number[] {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i + 1 < ranges.length; i += 2) {
    const lo = ranges[i] ?? 0;
    const hi = ranges[i + 1] ?? 0;
    if (lo > next) out.push(next, lo - 1);
    next = hi + 1;
  }
  if (next <= 0xffff) out.push(next, 0xffff);
  return out;
}

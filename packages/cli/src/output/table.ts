/**
 * A small column formatter for human output: a header row, columns padded to
 * their widest cell, numbers aligned right, two spaces between columns, no
 * trailing blanks. Widths are measured without colour escapes, so styled
 * cells line up. One column may shrink (with `…`) to fit the terminal.
 */
import { makeStyler, visibleWidth, type StyleName, type Styler } from "./style.ts";

/** One column: how to show a row in it. */
export interface Column<R> {
  readonly header: string;
  readonly value: (row: R) => string;
  /** Default left; use right for numbers. */
  readonly align?: "left" | "right";
  /** Style of a cell, chosen per row (e.g. red for an unhealthy node). */
  readonly style?: (row: R, cell: string) => StyleName | undefined;
  /** This column gives up width (down to `minWidth`) when the table is wider than `maxWidth`. */
  readonly shrink?: boolean;
  /** Narrowest a shrinking column gets (default 10). */
  readonly minWidth?: number;
}

/** Rendering options. */
export interface TableOptions {
  /** Colours (default none). */
  readonly style?: Styler;
  /** Terminal width; a `shrink` column is cut so rows fit (default: no limit). */
  readonly maxWidth?: number;
  /** Spaces between columns (default 2). */
  readonly gap?: number;
}

const ELLIPSIS = "…";

/** Cut `text` to `width` columns, ending with `…` when cut. Escape-free text only. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return "";
  const chars = [...text];
  if (chars.length <= width) return text;
  return `${chars.slice(0, Math.max(0, width - 1)).join("")}${ELLIPSIS}`;
}

/** One line per row, plus the header first; empty input gives the header alone. */
export function renderTable<R>(columns: readonly Column<R>[], rows: readonly R[], options: TableOptions = {}): string[] {
  const style = options.style ?? makeStyler(false);
  const gap = " ".repeat(options.gap ?? 2);
  // Cells are single-line: a newline in a value would break the grid.
  const cells = rows.map((row) => columns.map((c) => c.value(row).replace(/[\r\n\t]+/g, " ")));
  const widths = columns.map((c, i) => Math.max(visibleWidth(c.header), ...cells.map((r) => visibleWidth(r[i] ?? ""))));
  fitWidths(columns, widths, gap.length, options.maxWidth);
  const pad = (text: string, i: number): string => {
    const width = widths[i] ?? 0;
    const cut = visibleWidth(text) > width ? truncate(text, width) : text;
    // The last column is not padded: lines carry no trailing blanks, styled or not.
    if (i === columns.length - 1 && columns[i]?.align !== "right") return cut;
    const fill = " ".repeat(Math.max(0, width - visibleWidth(cut)));
    return columns[i]?.align === "right" ? fill + cut : cut + fill;
  };
  const line = (parts: string[]): string => parts.join(gap).trimEnd();
  const header = line(columns.map((c, i) => style("bold", pad(c.header, i))));
  const body = cells.map((r, ri) => line(columns.map((c, i) => {
    const text = pad(r[i] ?? "", i);
    const row = rows[ri];
    const name = row === undefined ? undefined : c.style?.(row, r[i] ?? "");
    return name === undefined ? text : style(name, text);
  })));
  return [header, ...body];
}

/** Shrink `shrink` columns, widest first, until the row fits `maxWidth` or they reach their minimum. */
function fitWidths<R>(columns: readonly Column<R>[], widths: number[], gap: number, maxWidth: number | undefined): void {
  if (maxWidth === undefined) return;
  const total = (): number => widths.reduce((a, b) => a + b, 0) + gap * Math.max(0, widths.length - 1);
  let excess = total() - maxWidth;
  if (excess <= 0) return;
  columns.forEach((c, i) => {
    if (c.shrink !== true || excess <= 0) return;
    const width = widths[i] ?? 0;
    const floor = Math.max(c.minWidth ?? 10, visibleWidth(c.header));
    const cut = Math.min(excess, Math.max(0, width - floor));
    widths[i] = width - cut;
    excess -= cut;
  });
}

/** `key: value` lines with the keys padded to one width. Pairs with an undefined value are skipped. */
export function renderKeyValues(pairs: readonly (readonly [string, string | undefined])[], style: Styler = makeStyler(false)): string[] {
  const shown = pairs.filter((p): p is readonly [string, string] => p[1] !== undefined);
  const width = Math.max(0, ...shown.map(([k]) => visibleWidth(k) + 1));
  return shown.map(([k, v]) => `${style("bold", `${k}:`.padEnd(width))}  ${v}`.trimEnd());
}

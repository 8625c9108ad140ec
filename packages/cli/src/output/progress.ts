/**
 * A one-line progress bar on stderr for long operations (`pub --count`):
 * drawn only on a terminal, only once the operation has run for a moment,
 * redrawn at most every `minIntervalMs`, and erased when done.
 */
import type { Printer } from "./io.ts";
import { formatDuration } from "../util/units.ts";

/** Erase the current terminal line and return to its start. */
const ERASE_LINE = "\r\u001b[2K";

/** The bar's text for `done` of `total` after `elapsedMs`, `barWidth` cells wide. */
export function renderProgress(label: string, done: number, total: number, elapsedMs: number, barWidth = 24): string {
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
  const filled = Math.round(fraction * barWidth);
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const eta = rate > 0 && done < total ? ` · ETA ${formatDuration(((total - done) / rate) * 1000)}` : "";
  const bar = `${"█".repeat(filled)}${"░".repeat(barWidth - filled)}`;
  return `${label} ${bar} ${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")} ${Math.floor(fraction * 100)}% · ${Math.round(rate).toLocaleString("en-US")} msg/s${eta}`;
}

/** Options of {@link ProgressBar}. */
export interface ProgressOptions {
  /** Draw nothing until the operation ran this long (short runs stay quiet). Default 500 ms. */
  readonly delayMs?: number;
  /** Redraw at most this often. Default 100 ms. */
  readonly minIntervalMs?: number;
  /** Clock (tests pass a fake). */
  readonly now?: () => number;
}

/** A progress bar; inert when the stream is not a terminal. */
export class ProgressBar {
  readonly #printer: Printer;
  readonly #label: string;
  readonly #total: number;
  readonly #delayMs: number;
  readonly #minIntervalMs: number;
  readonly #now: () => number;
  readonly #started: number;
  #lastDrawn = Number.NEGATIVE_INFINITY;
  #drawn = false;

  constructor(printer: Printer, label: string, total: number, options: ProgressOptions = {}) {
    this.#printer = printer;
    this.#label = label;
    this.#total = total;
    this.#delayMs = options.delayMs ?? 500;
    this.#minIntervalMs = options.minIntervalMs ?? 100;
    this.#now = options.now ?? Date.now;
    this.#started = this.#now();
  }

  /** Report `done` units finished; redraws when due. */
  update(done: number): void {
    if (!this.#printer.isTTY) return;
    const now = this.#now();
    if (now - this.#started < this.#delayMs || now - this.#lastDrawn < this.#minIntervalMs) return;
    this.#lastDrawn = now;
    this.#drawn = true;
    // Some terminals (and `script`) report 0 columns: assume the classic 80.
    const width = this.#printer.columns !== undefined && this.#printer.columns > 0 ? this.#printer.columns : 80;
    const text = renderProgress(this.#label, done, this.#total, now - this.#started);
    this.#printer.raw(`${ERASE_LINE}${[...text].slice(0, Math.max(10, width - 1)).join("")}`);
  }

  /** Erase the bar (if drawn). */
  finish(): void {
    if (this.#drawn) this.#printer.raw(ERASE_LINE);
    this.#drawn = false;
  }
}

/**
 * Colours for people, never for pipes: styles apply only when the stream is
 * a terminal, NO_COLOR is unset and TERM is not `dumb` (FORCE_COLOR forces
 * them on; https://no-color.org). The decision is made here, per stream, so
 * styleText's own check (which looks at stdout only) is switched off.
 */
import { styleText } from "node:util";

/** The styles commands use; each maps to one styleText format. */
export type StyleName = "bold" | "dim" | "red" | "green" | "yellow" | "cyan" | "magenta";

/** Applies a style, or returns the text unchanged when colours are off. */
export interface Styler {
  readonly enabled: boolean;
  (name: StyleName, text: string): string;
}

/** True when output to a stream with `isTTY` should carry colours under `env`. */
export function colorEnabled(isTTY: boolean, env: Readonly<Record<string, string | undefined>>): boolean {
  const force = env["FORCE_COLOR"];
  if (force !== undefined && force !== "" && force !== "0" && force !== "false") return true;
  if (env["NO_COLOR"] !== undefined && env["NO_COLOR"] !== "") return false;
  if (env["TERM"] === "dumb") return false;
  return isTTY;
}

/** A styler that colours when `enabled`. */
export function makeStyler(enabled: boolean): Styler {
  const style = ((name: StyleName, text: string): string => (enabled && text.length > 0 ? styleText(name, text, { validateStream: false }) : text)) as Styler;
  Object.defineProperty(style, "enabled", { value: enabled });
  return style;
}

// ANSI CSI sequences (colours, cursor moves); built from a string so the source holds no control character.
const ANSI_RE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, "g");

/** `text` without ANSI escape sequences. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI_RE, "");
}

/** Columns `text` takes on a terminal: code points without escapes (wide CJK glyphs count as one). */
export function visibleWidth(text: string): number {
  let n = 0;
  for (const _ of stripAnsi(text)) n++;
  return n;
}

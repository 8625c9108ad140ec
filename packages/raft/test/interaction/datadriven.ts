/**
 * A small datadriven test format (cockroachdb/datadriven's shape, as etcd-raft
 * uses it): a file is a list of directives, each a command line, a `----`
 * line and the expected output, ended by a blank line. Lines starting with
 * `#` between directives are comments. The runner compares actual output
 * with expected; with RAFTBUS_REWRITE=1 it rewrites the file with the actual
 * output instead (review the diff, then commit it).
 */
import { readFileSync, writeFileSync } from "node:fs";

/** One directive of a file. */
export interface Directive {
  /** Comment lines just above it. */
  readonly comments: readonly string[];
  /** The command line, as written. */
  readonly line: string;
  readonly command: string;
  /** Positional arguments. */
  readonly args: readonly string[];
  /** key=value arguments. */
  readonly opts: ReadonlyMap<string, string>;
  readonly expected: string;
  /** 1-based line of the command, for messages. */
  readonly lineNo: number;
}

/** Parses a datadriven file. Throws on malformed structure, naming the line. */
export function parseDirectives(text: string, name: string): Directive[] {
  const lines = text.split("\n");
  const out: Directive[] = [];
  let comments: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      comments.push(line);
      continue;
    }
    if (lines[i + 1] !== "----") throw new Error(`${name}:${i + 1}: "${line}" must be followed by a "----" line`);
    const lineNo = i + 1;
    const body: string[] = [];
    for (i += 2; i < lines.length && lines[i] !== ""; i++) body.push(lines[i]!);
    const words = line.trim().split(/\s+/);
    const args = words.slice(1).filter((w) => !w.includes("="));
    const opts = new Map(words.slice(1).filter((w) => w.includes("=")).map((w) => [w.slice(0, w.indexOf("=")), w.slice(w.indexOf("=") + 1)] as [string, string]));
    out.push({ comments, line, command: words[0]!, args, opts, expected: body.join("\n"), lineNo });
    comments = [];
  }
  return out;
}

/** The result of running a file. */
export interface FileRun {
  /** The first directive whose output differs, with both outputs. */
  readonly mismatch?: { directive: Directive; actual: string };
  readonly rewritten: boolean;
}

/** True when expectations are being rewritten rather than checked. */
export function rewriting(): boolean {
  return process.env["RAFTBUS_REWRITE"] === "1";
}

/**
 * Runs every directive of `path` through `exec` (which returns the output
 * lines). Checks against the file, or rewrites it under RAFTBUS_REWRITE=1.
 */
export function runFile(path: string, exec: (d: Directive) => string[]): FileRun {
  const directives = parseDirectives(readFileSync(path, "utf8"), path);
  const actual = directives.map((d) => {
    const lines = exec(d);
    return lines.length === 0 ? "ok" : lines.join("\n");
  });
  if (rewriting()) {
    const text = directives.map((d, i) => [...d.comments, d.line, "----", actual[i]!].join("\n")).join("\n\n") + "\n";
    writeFileSync(path, text);
    return { rewritten: true };
  }
  const i = directives.findIndex((d, k) => d.expected !== actual[k]);
  return i < 0 ? { rewritten: false } : { mismatch: { directive: directives[i]!, actual: actual[i]! }, rewritten: false };
}

/** A line diff of expected vs actual (- expected, + actual), for failure messages. */
export function lineDiff(expected: string, actual: string): string {
  const a = expected.split("\n");
  const b = actual.split("\n");
  const out: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] === b[i]) out.push(`  ${a[i]}`);
    else {
      if (a[i] !== undefined) out.push(`- ${a[i]}`);
      if (b[i] !== undefined) out.push(`+ ${b[i]}`);
    }
  }
  return out.join("\n");
}

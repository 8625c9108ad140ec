/** An in-memory terminal for running the CLI in-process. */
import type { Io, OutStream } from "../../src/output/io.ts";

/** What a fake run wrote. */
export interface FakeIo extends Io {
  readonly stdoutText: () => string;
  readonly stderrText: () => string;
}

/** A fake terminal; `tty` makes stdout/stderr/stdin report a terminal. */
export function fakeIo(options: { tty?: boolean; stdin?: string; env?: Record<string, string>; answer?: boolean } = {}): FakeIo {
  const out: string[] = [];
  const err: string[] = [];
  const stream = (sink: string[]): OutStream => ({ write: (t) => void sink.push(t), isTTY: options.tty === true, columns: options.tty === true ? 100 : undefined });
  const controller = new AbortController();
  const input = options.stdin;
  return {
    stdout: stream(out),
    stderr: stream(err),
    stdin: {
      isTTY: options.tty === true,
      async *[Symbol.asyncIterator]() {
        if (input !== undefined) yield new TextEncoder().encode(input);
      },
    },
    env: { NO_COLOR: "1", ...options.env },
    interrupted: () => controller.signal,
    confirm: async () => options.answer === true,
    stdoutText: () => out.join(""),
    stderrText: () => err.join(""),
  };
}

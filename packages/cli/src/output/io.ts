/**
 * The terminal as the commands see it: two output streams, stdin, the
 * environment, and an interrupt signal (Ctrl-C, SIGTERM, or the reader of
 * our stdout going away). Tests pass a fake; `processIo()` is the real one.
 */
import { colorEnabled, makeStyler, type Styler } from "./style.ts";

/** An output stream. */
export interface OutStream {
  write(text: string): void;
  readonly isTTY: boolean;
  /** Terminal width, when a terminal. */
  readonly columns: number | undefined;
}

/** A readable stdin, as far as `pub` uses it. */
export interface InStream extends AsyncIterable<Uint8Array | string> {
  readonly isTTY: boolean;
}

/** Everything commands touch outside the cluster. */
export interface Io {
  readonly stdout: OutStream;
  readonly stderr: OutStream;
  readonly stdin: InStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * A signal aborted on the first Ctrl-C/SIGTERM, or when stdout's reader is
   * gone (EPIPE). Long-running commands (sub, watch, pub --count) stop
   * cleanly on it; calling this installs the handlers, so short commands keep
   * Node's default Ctrl-C behaviour.
   */
  interrupted(): AbortSignal;
  /** Ask yes/no on the terminal; resolves false on anything but y/yes. */
  confirm(question: string): Promise<boolean>;
}

/** Writes lines and JSON to one stream, with that stream's colours. */
export class Printer {
  readonly style: Styler;
  readonly #stream: OutStream;

  constructor(stream: OutStream, env: Readonly<Record<string, string | undefined>>) {
    this.#stream = stream;
    this.style = makeStyler(colorEnabled(stream.isTTY, env));
  }

  /** True when the stream is a terminal. */
  get isTTY(): boolean {
    return this.#stream.isTTY;
  }

  /** Terminal width (undefined when not a terminal). */
  get columns(): number | undefined {
    return this.#stream.columns;
  }

  /** Write one line per argument. */
  line(...lines: string[]): void {
    for (const l of lines) this.#stream.write(`${l}\n`);
  }

  /** Write raw text (progress bars, screen clears). */
  raw(text: string): void {
    this.#stream.write(text);
  }

  /** One JSON document, indented for people who look at it. */
  json(value: unknown): void {
    this.#stream.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** One JSON value on one line (JSON lines). */
  jsonLine(value: unknown): void {
    this.#stream.write(`${JSON.stringify(value)}\n`);
  }
}

/** Exit code of a process stopped by a second Ctrl-C (128 + SIGINT). */
const EXIT_SIGINT = 130;

/** The real terminal. */
export function processIo(): Io {
  let controller: AbortController | undefined;
  const interrupted = (): AbortSignal => {
    if (controller !== undefined) return controller.signal;
    const c = new AbortController();
    controller = c;
    const onSignal = (): void => {
      // A second Ctrl-C means: stop now, without the clean shutdown.
      if (c.signal.aborted) process.exit(EXIT_SIGINT);
      c.abort();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    return c.signal;
  };
  // A closed pipe (`raftbus sub x | head -1`) ends the command quietly instead of crashing it.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
    interrupted();
    controller?.abort();
  });
  const out = (s: NodeJS.WriteStream): OutStream => ({
    write: (text) => {
      if (!s.destroyed) s.write(text);
    },
    get isTTY() {
      return s.isTTY === true;
    },
    get columns() {
      return s.isTTY === true ? s.columns : undefined;
    },
  });
  const stdin = process.stdin;
  return {
    stdout: out(process.stdout),
    stderr: out(process.stderr),
    stdin: {
      get isTTY() {
        return stdin.isTTY === true;
      },
      [Symbol.asyncIterator]: () => stdin[Symbol.asyncIterator](),
    },
    env: process.env,
    interrupted,
    confirm: async (question) => {
      if (stdin.isTTY !== true) return false;
      const { createInterface } = await import("node:readline/promises");
      const rl = createInterface({ input: stdin, output: process.stderr });
      try {
        const answer = await rl.question(`${question} [y/N] `);
        return /^(y|yes)$/i.test(answer.trim());
      } finally {
        rl.close();
      }
    },
  };
}

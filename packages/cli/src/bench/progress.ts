/**
 * Progress on stderr while the benchmark runs: a bar redrawn in place on a
 * terminal, one line per workload otherwise (logs, CI). Never on stdout,
 * which carries the report (`--json` stays parseable).
 */

/** What the runner reports. */
export interface Progress {
  note(line: string): void;
  start(workload: string): void;
  update(done: number, total: number): void;
  finish(result: string): void;
  done(): void;
}

const WIDTH = 24;

/** Progress written to `stream` (a bar when it is a terminal). */
export function streamProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }): Progress {
  const tty = stream.isTTY === true;
  let current = "";
  let started = 0;
  let lastDraw = 0;
  const clear = (): void => {
    if (tty) stream.write("\r\x1b[2K");
  };
  return {
    note: (line) => {
      clear();
      stream.write(`${line}\n`);
    },
    start: (workload) => {
      current = workload;
      started = performance.now();
      if (tty) stream.write(`\r\x1b[2K${workload.padEnd(28)} [${" ".repeat(WIDTH)}]`);
      else stream.write(`${workload}…\n`);
    },
    update: (done, total) => {
      if (!tty) return;
      const now = performance.now();
      if (now - lastDraw < 100) return; // at most ten redraws a second
      lastDraw = now;
      const frac = total > 0 ? Math.min(1, done / total) : 0;
      const filled = Math.round(frac * WIDTH);
      stream.write(`\r\x1b[2K${current.padEnd(28)} [${"#".repeat(filled)}${".".repeat(WIDTH - filled)}] ${Math.round(frac * 100)}%  ${((now - started) / 1000).toFixed(1)} s`);
    },
    finish: (result) => {
      clear();
      stream.write(`${current.padEnd(28)} ${result}  (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
    },
    done: () => clear(),
  };
}

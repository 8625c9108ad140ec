/**
 * The one logger of raftbus: pino, with a child logger per component and a
 * level per component (`logLevels: "raft=debug,transport=warn"`). Every
 * package takes a pino `Logger`; no package defines a logger interface of
 * its own (STYLE.md "one of each").
 */
import { pino } from "pino";
import type { DestinationStream, Level, Logger, LoggerOptions } from "pino";

export type { Logger } from "pino";

/** Levels a component may be set to (pino's, plus `silent`). */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
/** One log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The components that log, one child logger each. Names are stable: they are
 * what operators put in `logLevels` and what log queries filter on.
 */
export const LOG_COMPONENTS = [
  "node",      // start/stop, configuration, HTTP
  "raft",      // driver: elections, membership, snapshots, storage stalls
  "transport", // peer connections
  "session",   // client sessions and requests (request ids, slow requests)
  "duties",    // the leader's periodic work (time ticks, delivery pump, session expiry)
  "broker",    // the broker state machine
  "sys",       // system events ($sys.*)
  "metrics",   // the Prometheus registry
] as const;
/** One logging component. */
export type LogComponent = (typeof LOG_COMPONENTS)[number];

/** True when `value` is a log level name. */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === "string" && (LOG_LEVELS as readonly string[]).includes(value);
}

/**
 * Parse `raft=debug,transport=warn` into levels by component; throws an
 * Error naming the bad part (config validation turns it into a problem).
 */
export function parseLogLevels(text: string): Partial<Record<LogComponent, LogLevel>> {
  const out: Partial<Record<LogComponent, LogLevel>> = {};
  for (const part of text.split(",").map((s) => s.trim()).filter((s) => s.length > 0)) {
    const [name, level] = part.split("=").map((s) => s.trim());
    if (!(LOG_COMPONENTS as readonly string[]).includes(name ?? "")) {
      throw new Error(`"${part}": unknown component "${name}" (known: ${LOG_COMPONENTS.join(", ")})`);
    }
    if (!isLogLevel(level)) throw new Error(`"${part}": level must be one of ${LOG_LEVELS.join(", ")}`);
    out[name as LogComponent] = level;
  }
  return out;
}

/** What {@link createNodeLogger} needs. */
export interface NodeLoggerOptions {
  /** Default level of every component. */
  readonly level: LogLevel;
  /** Per-component overrides. */
  readonly levels?: Partial<Record<LogComponent, LogLevel>>;
  /** Fields on every line (e.g. `{ node: "n1" }`). */
  readonly base?: Record<string, unknown>;
  /** Where lines go; stdout by default. */
  readonly destination?: DestinationStream;
  /** Extra pino options (hooks, serializers). */
  readonly pino?: LoggerOptions;
}

/** A node's loggers: the root and one child per component. */
export interface NodeLoggers {
  readonly root: Logger;
  /** The child logger of `component`, at its configured level. */
  component(component: LogComponent): Logger;
}

/** Build the root logger and its per-component children. */
export function createNodeLogger(o: NodeLoggerOptions): NodeLoggers {
  const levels = o.levels ?? {};
  // Child levels are independent of the root's in pino, so a child may be
  // more verbose than its parent.
  const options: LoggerOptions = { level: o.level, base: o.base ?? {}, ...o.pino };
  const root = o.destination === undefined ? pino(options) : pino(options, o.destination);
  const children = new Map<LogComponent, Logger>();
  return {
    root,
    component(component) {
      let child = children.get(component);
      if (child === undefined) {
        child = root.child({ component }, { level: (levels[component] ?? o.level) as Level });
        children.set(component, child);
      }
      return child;
    },
  };
}

/** A logger that drops everything (tests, tools). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

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

/** A warn-or-worse line as a tap sees it. */
export interface TappedLine {
  readonly level: "warn" | "error" | "fatal";
  readonly component: string;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** A node's loggers: the root and one child per component. */
export interface NodeLoggers {
  readonly root: Logger;
  /** The child logger of `component`, at its configured level. */
  component(component: LogComponent): Logger;
  /**
   * Also hand every warn-or-worse line to `tap` (system events publish
   * them on `$sys.logging`). Lines of the `sys` component are not tapped,
   * so publishing cannot feed on itself.
   */
  tapWarnings(tap: ((line: TappedLine) => void) | undefined): void;
}

const TAP_LEVELS: Readonly<Record<number, TappedLine["level"]>> = { 40: "warn", 50: "error", 60: "fatal" };

/** Build the root logger and its per-component children. */
export function createNodeLogger(o: NodeLoggerOptions): NodeLoggers {
  const levels = o.levels ?? {};
  // Child levels are independent of the root's in pino, so a child may be
  // more verbose than its parent.
  let tap: ((line: TappedLine) => void) | undefined;
  const options: LoggerOptions = {
    level: o.level, base: o.base ?? {}, ...o.pino,
    hooks: {
      logMethod(args, method, level) {
        const tapLevel = TAP_LEVELS[level];
        if (tap !== undefined && tapLevel !== undefined) {
          const component = String((this.bindings() as { component?: unknown }).component ?? "node");
          if (component !== "sys") {
            const [first, second] = args as unknown[];
            const fields = typeof first === "object" && first !== null ? (first as Record<string, unknown>) : {};
            const msg = typeof first === "string" ? first : typeof second === "string" ? second : "";
            tap({ level: tapLevel, component, msg, fields: plainFields(fields) });
          }
        }
        method.apply(this, args);
      },
    },
  };
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
    tapWarnings(t) {
      tap = t;
    },
  };
}

/** Fields safe to copy into an event: errors become their message, the rest is kept when JSON-able. */
function plainFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v instanceof Error) out[k] = v.message;
    else if (v === null || ["string", "number", "boolean"].includes(typeof v)) out[k] = v;
    else {
      try {
        out[k] = JSON.parse(JSON.stringify(v)) as unknown;
      } catch {
        out[k] = String(v);
      }
    }
  }
  return out;
}

/** A logger that drops everything (tests, tools). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

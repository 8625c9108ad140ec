/**
 * The replicated control of system events: `raftbus sys set|enable|disable`
 * and `raftbus sys diagnose` publish documents to `$sys.control` through
 * the log, so every node sees the same ones in the same order. Each node
 * watches the topic in its applied state (a memory check every
 * WATCH_MS; messages are read only when there are new ones):
 *
 * - `{ "v": 1, "kind": "settings", "overrides": {…} }`: the whole set of
 *   runtime overrides (the last one wins; config-file values are the base);
 * - `{ "v": 1, "kind": "diagnose", "node": "n2" | "*", "requestId": "…" }`:
 *   the named node(s) publish a diagnostics report.
 */
import type { Logger } from "@raftbus/raft";
import type { StoredMessage } from "@raftbus/client/protocol";
import { DEFAULT_SYS_SETTINGS, effectiveSettings, validateOverrides } from "./families.ts";
import type { SysOverrides, SysSettings } from "./families.ts";
import { SYS_CONTROL_TOPIC } from "./events.ts";

/** How often a node looks for new control documents. */
const WATCH_MS = 500;
/** Diagnose requests older than this (by log time) are not answered (e.g. replayed at start-up). */
const DIAGNOSE_FRESH_MS = 60_000;
/** Messages read per look. */
const READ_MAX = 100;

/** A control document. */
export type ControlDocument =
  | { readonly v: 1; readonly kind: "settings"; readonly overrides: SysOverrides }
  | { readonly v: 1; readonly kind: "diagnose"; readonly node: string; readonly requestId: string };

/** What the watcher reads from. */
export interface ControlSource {
  /** Next offset of the control topic in the applied state (0 when absent). */
  nextOffset(): number;
  /** Up to `limit` messages from `from`. */
  read(from: number, limit: number): Promise<readonly StoredMessage[]>;
}

/** Settings (config base + replicated overrides) and the watcher; see the module comment. */
export class SysControl {
  private overrides: SysOverrides = {};
  private current: SysSettings;
  private nextOffset = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private reading = false;
  /** Told about each fresh diagnose request addressed to this node. */
  onDiagnose: ((requestId: string) => void) | undefined;
  /** Told when the effective settings changed. */
  onChange: ((settings: SysSettings) => void) | undefined;

  constructor(
    private readonly nodeId: string,
    /** Config-file settings (defaults with the node's own overrides). */
    private readonly base: SysSettings,
    private readonly source: ControlSource,
    private readonly log: Logger,
  ) {
    this.current = base;
  }

  /** The settings in force now. */
  settings(): SysSettings {
    return this.current;
  }

  /** The replicated overrides in force now. */
  replicatedOverrides(): SysOverrides {
    return this.overrides;
  }

  /** Read every control document so far (the latest settings win), then watch. */
  async start(): Promise<void> {
    await this.poll(true);
    this.timer = setInterval(() => void this.poll(false), WATCH_MS);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Look for new documents now (also used right after this node published one). */
  async poll(catchUp = false): Promise<void> {
    if (this.reading) return;
    if (this.source.nextOffset() <= this.nextOffset) return;
    this.reading = true;
    try {
      while (this.source.nextOffset() > this.nextOffset) {
        const batch = await this.source.read(this.nextOffset, READ_MAX);
        if (batch.length === 0) {
          // Retention removed what we had not read: skip to the end.
          this.nextOffset = this.source.nextOffset();
          break;
        }
        for (const m of batch) this.handle(m, catchUp);
        this.nextOffset = batch[batch.length - 1]!.offset + 1;
      }
    } catch (err) {
      this.log.debug({ err: String(err) }, "reading $sys.control failed; retrying");
    } finally {
      this.reading = false;
    }
  }

  private handle(m: StoredMessage, catchUp: boolean): void {
    let doc: unknown;
    try {
      doc = JSON.parse(new TextDecoder().decode(m.payload));
    } catch {
      return this.log.warn({ offset: m.offset }, "unreadable document on $sys.control ignored");
    }
    const d = doc as Partial<Record<string, unknown>>;
    if (d["v"] !== 1) return;
    if (d["kind"] === "settings") {
      try {
        this.overrides = validateOverrides(d["overrides"]);
      } catch (err) {
        return this.log.warn({ offset: m.offset, err: String(err) }, "invalid settings on $sys.control ignored");
      }
      this.current = effectiveSettings(this.base, this.overrides);
      this.log.info({ offset: m.offset, overrides: this.overrides }, "system event settings changed");
      this.onChange?.(this.current);
    } else if (d["kind"] === "diagnose" && typeof d["requestId"] === "string" && (d["node"] === "*" || d["node"] === this.nodeId)) {
      if (catchUp && Date.now() - m.timestamp > DIAGNOSE_FRESH_MS) return;
      this.onDiagnose?.(d["requestId"]);
    }
  }
}

/** Settings from the config file's overrides on top of the defaults. */
export function baseSettings(configOverrides: SysOverrides): SysSettings {
  return effectiveSettings(DEFAULT_SYS_SETTINGS, configOverrides);
}

export { SYS_CONTROL_TOPIC };

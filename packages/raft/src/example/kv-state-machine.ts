/**
 * A small replicated key-value map: the example application of the Raft
 * node, so durable Raft can be exercised before the broker exists. Its
 * state lives in memory; after a restart the node restores the latest
 * snapshot and re-applies the committed log tail, which rebuilds it exactly.
 */
import { assert } from "../core/assert.ts";
import type { Entry, SnapshotMeta } from "../core/types.ts";
import type { StateMachine } from "../node/state-machine.ts";

/** A command: set a key (value null deletes it). */
export interface KvCommand {
  readonly key: string;
  readonly value: string | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encode a command as an entry payload. */
export function encodeKv(cmd: KvCommand): Uint8Array {
  return encoder.encode(JSON.stringify(cmd));
}

function decodeKv(data: Uint8Array): KvCommand {
  const v: unknown = JSON.parse(decoder.decode(data));
  assert(typeof v === "object" && v !== null, "kv command must be an object");
  const o = v as Record<string, unknown>;
  assert(typeof o["key"] === "string" && (typeof o["value"] === "string" || o["value"] === null), "kv command malformed");
  return { key: o["key"], value: o["value"] as string | null };
}

/** Result of applying a command: the index it was applied at and the previous value. */
export interface KvResult {
  readonly index: number;
  readonly previous: string | null;
}

/** Snapshot chunks hold this many keys each. */
const KEYS_PER_CHUNK = 1024;

/** The replicated map. */
export class KvStateMachine implements StateMachine<KvResult | undefined> {
  private readonly map = new Map<string, string>();
  private applied = 0;

  async apply(entries: readonly Entry[]): Promise<(KvResult | undefined)[]> {
    return entries.map((e) => {
      assert(e.index === this.applied + 1, () => `kv: applying ${e.index} after ${this.applied}`);
      this.applied = e.index;
      if (e.type !== "normal") return undefined;
      const cmd = decodeKv(e.data);
      const previous = this.map.get(cmd.key) ?? null;
      if (cmd.value === null) this.map.delete(cmd.key);
      else this.map.set(cmd.key, cmd.value);
      return { index: e.index, previous };
    });
  }

  appliedIndex(): number {
    return this.applied;
  }

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  size(): number {
    return this.map.size;
  }

  /** The first `limit` pairs in key order (for tests and status pages; the limit bounds the copy). */
  pairs(limit: number): [string, string][] {
    return [...this.map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).slice(0, limit);
  }

  /** Captures the map now (a copy of its entries), then streams it in chunks. */
  snapshot(): AsyncIterable<Uint8Array> {
    const pairs = [...this.map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return (async function* () {
      for (let i = 0; i < pairs.length; i += KEYS_PER_CHUNK) {
        yield encoder.encode(JSON.stringify(pairs.slice(i, i + KEYS_PER_CHUNK)) + "\n");
      }
    })();
  }

  async restore(meta: SnapshotMeta, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    this.map.clear();
    let text = "";
    for await (const c of chunks) {
      text += decoder.decode(c, { stream: true });
      let nl: number;
      while ((nl = text.indexOf("\n")) >= 0) {
        const pairs: unknown = JSON.parse(text.slice(0, nl));
        assert(Array.isArray(pairs), "kv snapshot chunk must be an array");
        for (const p of pairs) {
          assert(Array.isArray(p) && typeof p[0] === "string" && typeof p[1] === "string", "kv snapshot pair malformed");
          this.map.set(p[0], p[1]);
        }
        text = text.slice(nl + 1);
      }
    }
    assert(text.length === 0, "kv snapshot ends mid-chunk");
    this.applied = meta.index;
  }
}

/**
 * The example key-value machine as a simulator application: clients set a
 * few keys to unique values; a linearizable read of a key must return the
 * value the history holds at the index the read was served at. Its state is
 * in memory only, so every restart rebuilds it from the latest snapshot and
 * the log (the driver's recovery path).
 */
import { createHash } from "node:crypto";
import type { SeededRand } from "../../src/core/rand.ts";
import type { Entry } from "../../src/core/types.ts";
import { KvStateMachine, encodeKv } from "../../src/example/kv-state-machine.ts";
import type { AppInstance, AppWorkload, SimApp } from "./app.ts";

/** Few keys, so writes overwrite each other and stale reads show. */
const KEYS = ["a", "b", "c", "d", "e", "f"];

class KvInstance implements AppInstance {
  readonly stateMachine = new KvStateMachine();

  async digest(): Promise<string> {
    const h = createHash("sha256");
    for (const [k, v] of this.stateMachine.pairs(Number.MAX_SAFE_INTEGER)) h.update(`${k}=${v}\n`);
    return h.digest("hex");
  }

  async read(key: string): Promise<unknown> {
    return this.stateMachine.get(key) ?? null;
  }
}

/** Writes with unique values, and the model: each key's writes by history index. */
class KvWorkload implements AppWorkload {
  private seq = 0;
  /** key → [index, value] in history order. */
  private readonly writes = new Map<string, [number, string | null][]>();
  private readonly decoder = new TextDecoder();

  command(_via: AppInstance, rand: SeededRand): Uint8Array {
    return encodeKv({ key: KEYS[rand.int(KEYS.length)]!, value: `v${++this.seq}` });
  }

  query(rand: SeededRand): string {
    return KEYS[rand.int(KEYS.length)]!;
  }

  historyApplied(e: Entry): void {
    if (e.type !== "normal") return;
    const cmd = JSON.parse(this.decoder.decode(e.data)) as { key: string; value: string | null };
    let list = this.writes.get(cmd.key);
    if (list === undefined) this.writes.set(cmd.key, (list = []));
    list.push([e.index, cmd.value]);
  }

  checkRead(key: string, value: unknown, index: number): string | undefined {
    let want: string | null = null;
    for (const [i, v] of this.writes.get(key) ?? []) {
      if (i > index) break;
      want = v;
    }
    return value === want ? undefined : `key ${key} read ${JSON.stringify(value)}, the history holds ${JSON.stringify(want)} at index ${index}`;
  }
}

/** The key-value example application. */
export const kvApp: SimApp = {
  name: "kv",
  open: async () => new KvInstance(),
  workload: () => new KvWorkload(),
};

/** Publish coalescing: concurrent publishes become one command per driver turn. */
import { describe, expect, it } from "vitest";
import { decodeCommand, makeConfig } from "../../src/index.ts";
import type { PublishCommand } from "../../src/index.ts";
import { PublishCoalescer } from "../../src/server/publish/coalescer.ts";
import { buildPublish } from "../../src/commands/build.ts";

const config = makeConfig();
let ids = 0;
const cmd = (topic: string, n: number, now = 1000): PublishCommand =>
  buildPublish(config, { now, senderId: "s", messages: Array.from({ length: n }, (_, i) => ({ topic, payload: new Uint8Array([i]) })), newId: () => `g${++ids}` });

/** A fake driver: proposals wait for turn(); a turn encodes each one and answers offsets in order. */
function driver(opts: { fail?: Error; errorResult?: boolean } = {}) {
  const queued: { encode: () => Uint8Array; resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  const commands: PublishCommand[] = [];
  let offset = 0;
  return {
    commands,
    propose: (encode: () => Uint8Array) => new Promise<unknown>((resolve, reject) => queued.push({ encode, resolve, reject })),
    turn: () => {
      for (const q of queued.splice(0)) {
        const c = decodeCommand(q.encode()) as PublishCommand;
        commands.push(c);
        if (opts.fail !== undefined) q.reject(opts.fail);
        else if (opts.errorResult === true) q.resolve({ ok: false, error: { code: "BAD_REQUEST", message: "no" } });
        else q.resolve({ ok: true, type: "publish", results: c.messages.map((m) => ({ topic: m.topic, offset: offset++, index: 7, duplicate: false })) });
      }
    },
  };
}

describe("publish coalescer", () => {
  it("requests arriving before the driver's turn share one command; each gets its own outcomes", async () => {
    const d = driver();
    const c = new PublishCoalescer({ propose: d.propose, messagesMax: 1000, bytesMax: 1 << 20 });
    const a = c.publish(cmd("a", 2, 1000));
    const b = c.publish(cmd("b", 1, 1003));
    const e = c.publish(cmd("a", 3, 1001));
    d.turn();
    expect((await a).map((r) => ("offset" in r ? r.offset : -1))).toEqual([0, 1]);
    expect((await b).map((r) => ("offset" in r ? r.offset : -1))).toEqual([2]);
    expect((await e).map((r) => ("offset" in r ? r.offset : -1))).toEqual([3, 4, 5]);
    expect(d.commands).toHaveLength(1);
    expect(d.commands[0]!.now).toBe(1003); // log time is the newest request's
    expect(d.commands[0]!.messages.map((m) => m.topic)).toEqual(["a", "a", "b", "a", "a", "a"]);
    expect(c.stats).toEqual({ commands: 1, requests: 3, messages: 6 });
  });

  it("a request after the driver took the batch opens the next one", async () => {
    const d = driver();
    const c = new PublishCoalescer({ propose: d.propose, messagesMax: 1000, bytesMax: 1 << 20 });
    const a = c.publish(cmd("a", 1));
    d.turn();
    const b = c.publish(cmd("a", 1));
    d.turn();
    await Promise.all([a, b]);
    expect(d.commands.map((x) => x.messages.length)).toEqual([1, 1]);
  });

  it("a batch never exceeds the message limit", async () => {
    const d = driver();
    const c = new PublishCoalescer({ propose: d.propose, messagesMax: 4, bytesMax: 1 << 20 });
    const all = [c.publish(cmd("a", 3)), c.publish(cmd("a", 2)), c.publish(cmd("a", 1))];
    d.turn();
    await Promise.all(all);
    expect(d.commands.map((x) => x.messages.length)).toEqual([3, 3]);
  });

  it("a refused proposal fails every request in it, and the next request starts afresh", async () => {
    const d = driver({ fail: Object.assign(new Error("not leader"), { code: "NOT_LEADER" }) });
    const c = new PublishCoalescer({ propose: d.propose, messagesMax: 100, bytesMax: 1 << 20 });
    const a = c.publish(cmd("a", 1));
    const b = c.publish(cmd("b", 1));
    d.turn();
    await expect(a).rejects.toMatchObject({ code: "NOT_LEADER" });
    await expect(b).rejects.toMatchObject({ code: "NOT_LEADER" });
    const later = c.publish(cmd("c", 1));
    d.turn();
    await expect(later).rejects.toMatchObject({ code: "NOT_LEADER" });
    expect(d.commands.map((x) => x.messages.length)).toEqual([2, 1]);
  });

  it("an error result fails the requests with its code", async () => {
    const d = driver({ errorResult: true });
    const c = new PublishCoalescer({ propose: d.propose, messagesMax: 100, bytesMax: 1 << 20 });
    const a = c.publish(cmd("a", 1));
    d.turn();
    await expect(a).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });
});

/** Publish coalescing: concurrent publishes become one command per driver turn. */
import { describe, expect, it } from "vitest";
import { decodeCommand, makeConfig } from "../../src/index.ts";
import type { PublishCommand } from "../../src/index.ts";
import { ENTRY_MESSAGES_MAX, PublishCoalescer, entryMessagesMax } from "../../src/server/publish/coalescer.ts";
import { buildPublish } from "../../src/commands/build.ts";

const config = makeConfig();
let ids = 0;
const cmd = (topic: string, n: number, now = 1000): PublishCommand =>
  buildPublish(config, { now, senderId: "s", messages: Array.from({ length: n }, (_, i) => ({ topic, payload: new Uint8Array([i]) })), newId: () => `g${++ids}` });

const describeErr = (err: unknown) => ({ code: (err as { code?: string }).code ?? "INTERNAL", message: String(err) });

/** A fake driver: proposals wait for turn(); a turn encodes each one and answers offsets in order (or fails the proposals numbered in `failAt`, counted from 0). */
function driver(opts: { fail?: Error; errorResult?: boolean; failAt?: ReadonlySet<number> } = {}) {
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
        if (opts.failAt?.has(commands.length - 1) === true) q.reject(Object.assign(new Error("entry dropped"), { code: "PROPOSAL_DROPPED" }));
        else if (opts.fail !== undefined) q.reject(opts.fail);
        else if (opts.errorResult === true) q.resolve({ ok: false, error: { code: "BAD_REQUEST", message: "no" } });
        else q.resolve({ ok: true, type: "publish", results: c.messages.map((m) => ({ topic: m.topic, offset: offset++, index: 7, duplicate: false })) });
      }
    },
  };
}

describe("publish coalescer", () => {
  it("requests arriving before the driver's turn share one command; each gets its own outcomes", async () => {
    const d = driver();
    const c = new PublishCoalescer({ propose: d.propose, messagesMax: () => 1000, bytesMax: 1 << 20, describe: describeErr });
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
    expect(c.stats).toEqual({ commands: 1, requests: 3, messages: 6, splitRequests: 0 });
  });

  it("a request after the driver took the batch opens the next one", async () => {
    const d = driver();
    const c = new PublishCoalescer({ propose: d.propose, messagesMax: () => 1000, bytesMax: 1 << 20, describe: describeErr });
    const a = c.publish(cmd("a", 1));
    d.turn();
    const b = c.publish(cmd("a", 1));
    d.turn();
    await Promise.all([a, b]);
    expect(d.commands.map((x) => x.messages.length)).toEqual([1, 1]);
  });

  it("a batch never exceeds the message limit", async () => {
    const d = driver();
    const c = new PublishCoalescer({ propose: d.propose, messagesMax: () => 4, bytesMax: 1 << 20, describe: describeErr });
    const all = [c.publish(cmd("a", 3)), c.publish(cmd("a", 2)), c.publish(cmd("a", 1))];
    d.turn();
    await Promise.all(all);
    expect(d.commands.map((x) => x.messages.length)).toEqual([3, 3]);
  });

  it("a refused proposal fails every request in it, and the next request starts afresh", async () => {
    const d = driver({ fail: Object.assign(new Error("not leader"), { code: "NOT_LEADER" }) });
    const c = new PublishCoalescer({ propose: d.propose, messagesMax: () => 100, bytesMax: 1 << 20, describe: describeErr });
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

  it("a request larger than one entry is split into consecutive entries within the limits; its outcomes keep their order", async () => {
    const d = driver();
    const c = new PublishCoalescer({ propose: d.propose, messagesMax: () => 4, bytesMax: 1 << 20, describe: describeErr });
    const small = c.publish(cmd("a", 2));
    const big = c.publish(cmd("b", 10));
    d.turn();
    expect((await small).map((r) => ("offset" in r ? r.offset : -1))).toEqual([0, 1]);
    expect((await big).map((r) => ("offset" in r ? r.offset : -1))).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    // The large request is cut into entry-sized pieces from its start; each joins the open batch if it fits.
    expect(d.commands.map((x) => x.messages.map((m) => m.topic).join(""))).toEqual(["aa", "bbbb", "bbbb", "bb"]);
    expect(c.stats.splitRequests).toBe(1);
  });

  it("splits by payload and header bytes; a single message over the byte limit goes alone", async () => {
    const d = driver();
    const c = new PublishCoalescer({ propose: d.propose, messagesMax: () => 100, bytesMax: 10, describe: describeErr });
    const messages = [4, 4, 4, 25, 1].map((n, i) => ({ topic: "t", payload: new Uint8Array(n), ...(i === 4 ? { headers: { hh: "vvvvvvvvv" } } : {}) }));
    const p = c.publish(buildPublish(config, { now: 1, senderId: "s", messages, newId: () => `g${++ids}` }));
    d.turn();
    expect(await p).toHaveLength(5);
    expect(d.commands.map((x) => x.messages.map((m) => m.payload.length))).toEqual([[4, 4], [4], [25], [1]]);
  });

  it("a split request half committed at a leader change: committed messages answer their acks, the rest the proposal's error (per message)", async () => {
    const d = driver({ failAt: new Set([1, 2]) });
    const c = new PublishCoalescer({ propose: d.propose, messagesMax: () => 3, bytesMax: 1 << 20, describe: describeErr });
    const p = c.publish(cmd("a", 8));
    d.turn();
    const outcomes = await p;
    expect(outcomes.map((o) => ("error" in o ? o.error.code : "ok"))).toEqual(["ok", "ok", "ok", "PROPOSAL_DROPPED", "PROPOSAL_DROPPED", "PROPOSAL_DROPPED", "PROPOSAL_DROPPED", "PROPOSAL_DROPPED"]);
  });

  it("a split request none of whose entries committed fails as a whole, like an unsplit one", async () => {
    const d = driver({ fail: Object.assign(new Error("not leader"), { code: "NOT_LEADER" }) });
    const c = new PublishCoalescer({ propose: d.propose, messagesMax: () => 3, bytesMax: 1 << 20, describe: describeErr });
    const p = c.publish(cmd("a", 8));
    d.turn();
    await expect(p).rejects.toMatchObject({ code: "NOT_LEADER" });
  });

  it("entries hold fewer messages the more filters and prefix-less regexes may run on each (at least one)", () => {
    expect([0, 1, 100, 101, 1000, 10_000, 1_000_000].map(entryMessagesMax)).toEqual([ENTRY_MESSAGES_MAX, ENTRY_MESSAGES_MAX, 256, 253, 25, 2, 1]);
  });

  it("an error result fails the requests with its code", async () => {
    const d = driver({ errorResult: true });
    const c = new PublishCoalescer({ propose: d.propose, messagesMax: () => 100, bytesMax: 1 << 20, describe: describeErr });
    const a = c.publish(cmd("a", 1));
    d.turn();
    await expect(a).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });
});

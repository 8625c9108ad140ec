/** Request/reply through the fake cluster: correlation ids, reply topics, timeouts, responder errors. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RaftbusClient } from "../src/node.ts";
import { FakeCluster } from "./fake-server.ts";
import { connectTo, delay } from "./helpers.ts";

let cluster: FakeCluster;
let requester: RaftbusClient;
let responder: RaftbusClient;

beforeEach(async () => {
  cluster = await FakeCluster.start(1);
  requester = await connectTo(cluster);
  responder = await connectTo(cluster);
});

afterEach(async () => {
  await Promise.all([requester.close(), responder.close()]);
  await cluster.close();
});

describe("request/reply", () => {
  it("delivers the reply to the requester's reply topic, matched by correlation id", async () => {
    await responder.reply("rpc.echo", (msg) => ({ echo: msg.json<{ n: number }>().n * 2 }));
    const reply = await requester.request("rpc.echo", { n: 21 }, { timeoutMs: 2000 });
    expect(reply.json()).toEqual({ echo: 42 });
    const request = cluster.log("rpc.echo")[0];
    expect(request?.headers["reply-to"]).toBe(`_reply.${requester.clientId}`);
    expect(request?.correlationId).toBeDefined();
    expect(reply.correlationId).toBe(request?.correlationId);
    expect(reply.topic).toBe(`_reply.${requester.clientId}`);
  });

  it("matches concurrent requests to their own replies", async () => {
    await responder.reply("rpc.sq", (msg) => String(Number(msg.string()) ** 2));
    const replies = await Promise.all([1, 2, 3, 4].map((n) => requester.request("rpc.sq", String(n), { timeoutMs: 2000 })));
    expect(replies.map((r) => r.string())).toEqual(["1", "4", "9", "16"]);
    // One reply subscription serves them all.
    expect(cluster.requests("subscribe").filter((f) => f.body.pattern.startsWith("_reply.")).length).toBe(1);
  });

  it("times out with TIMEOUT when nobody answers", async () => {
    const started = Date.now();
    await expect(requester.request("rpc.nobody", "x", { timeoutMs: 200 })).rejects.toMatchObject({ code: "TIMEOUT" });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(cluster.log("rpc.nobody")[0]?.ttlMs).toBe(200); // an unanswered request expires with its deadline
  });

  it("a request whose publish outlasts its deadline rejects with TIMEOUT and leaves no unhandled rejection", async () => {
    // Found by the chaos run: during a partition the request's publish took
    // longer than the request deadline, the reply timer rejected a promise
    // nobody listened to yet, and Node ended the whole process.
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on("unhandledRejection", onUnhandled);
    let release: () => void = () => undefined;
    cluster.intercept = (req) => (req.frame.kind === "publish" ? { hold: new Promise<void>((r) => (release = r)) } : undefined);
    try {
      const pending = requester.request("rpc.slow", "x", { timeoutMs: 150 });
      const outcome = pending.then(() => "resolved", (err: unknown) => err);
      await delay(400); // the reply timer fires while the publish is still held
      release();
      await expect(outcome).resolves.toMatchObject({ code: "TIMEOUT" });
      await delay(20);
      expect(unhandled).toEqual([]);
    } finally {
      cluster.intercept = () => undefined;
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("rejects with RESPONDER_ERROR when the responder's handler throws", async () => {
    await responder.reply("rpc.fail", () => {
      throw new Error("no such user");
    });
    await expect(requester.request("rpc.fail", "x", { timeoutMs: 2000 })).rejects.toMatchObject({ code: "RESPONDER_ERROR", message: "no such user" });
  });

  it("msg.respond() refuses messages that are not requests", async () => {
    const sub = await responder.subscribe("plain", { from: "earliest" });
    await requester.publish("plain", "x");
    const it = sub[Symbol.asyncIterator]();
    const msg = (await it.next()).value;
    await expect(msg.respond("y")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

/**
 * Forward compatibility (docs/protocol.md §1): an older SDK meets a newer
 * server. Unknown fields are kept, unknown error codes are carried as
 * RaftbusErrors, unknown push types are reported and ignored — none of them
 * is fatal to the decoder or to a connection.
 */
import { describe, expect, it } from "vitest";
import type { StatusEvent } from "../src/index.ts";
import { decodeClientFrame, decodeServerFrame, encodeFrame, isErrorCode, RaftbusError, type Frame, type ServerFrame } from "../src/protocol/index.ts";
import { FakeCluster } from "./fake-server.ts";
import { connectTo, waitFor } from "./helpers.ts";

const encode = (value: unknown): Uint8Array => encodeFrame(value as Frame);

describe("protocol: forward compatibility", () => {
  it("keeps fields it does not know, at every level, instead of refusing the frame", () => {
    const frame = decodeServerFrame(encode({
      t: "res", id: 3, kind: "ping", ok: true, zone: "eu", body: { nodeId: "n1", time: 5, uptimeMs: 99 },
    }));
    expect(frame).toMatchObject({ t: "res", zone: "eu", body: { nodeId: "n1", time: 5, uptimeMs: 99 } });
    const req = decodeClientFrame(encode({ t: "req", id: 1, kind: "publish", body: { messages: [{ topic: "a", payload: new Uint8Array([1]), schemaId: 4 }] } }));
    expect(req).toMatchObject({ body: { messages: [{ schemaId: 4 }] } });
  });

  it("carries an error code it does not know, as a RaftbusError with that code", () => {
    const frame = decodeServerFrame(encode({ t: "res", id: 4, ok: false, error: { code: "QUOTA_EXCEEDED", message: "over quota", details: { limit: 10 } } }));
    expect(frame.t === "res" && !frame.ok && frame.error.code).toBe("QUOTA_EXCEEDED");
    const err = frame.t === "res" && !frame.ok ? RaftbusError.fromInfo(frame.error) : undefined;
    expect(err).toBeInstanceOf(RaftbusError);
    expect(err?.code).toBe("QUOTA_EXCEEDED");
    expect(err?.known).toBe(false);
    expect(isErrorCode("QUOTA_EXCEEDED")).toBe(false);
    expect(new RaftbusError("NOT_LEADER", "x").known).toBe(true);
  });

  it("carries unknown codes inside pushes and publish outcomes too", () => {
    expect(decodeServerFrame(encode({ t: "subscription-closed", subscriptionId: "s1", reason: { code: "TENANT_SUSPENDED", message: "" } })).t).toBe("subscription-closed");
    const res = decodeServerFrame(encode({
      t: "res", id: 2, kind: "publish", ok: true, body: { results: [{ ok: false, error: { code: "SCHEMA_MISMATCH", message: "" } }] },
    }));
    expect(res.t).toBe("res");
  });

  it("returns a push type it does not know as an unknown frame, not an error", () => {
    const frame = decodeServerFrame(encode({ t: "quota-warning", usedPct: 91 }));
    expect(frame).toEqual({ t: "unknown", type: "quota-warning", frame: { t: "quota-warning", usedPct: 91 } });
  });

  it("keeps the request id of a malformed response, so only that request fails", () => {
    try {
      decodeServerFrame(encode({ t: "res", id: 8, kind: "ping", ok: true, body: { nodeId: 5, time: 1 } }));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(RaftbusError);
      expect((err as RaftbusError).details).toEqual({ requestId: 8 });
    }
  });
});

describe("SDK: a newer server's codes and pushes are not fatal", () => {
  it("rejects one request with an unknown error code and keeps the connection", async () => {
    const cluster = await FakeCluster.start(1);
    const events: StatusEvent[] = [];
    const client = await connectTo(cluster, { onStatus: (e) => events.push(e) });
    try {
      cluster.intercept = (req) => (req.frame.kind === "topic.info" ? { error: { code: "QUOTA_EXCEEDED", message: "over quota" } } : undefined);
      await expect(client.topics.info("a")).rejects.toMatchObject({ code: "QUOTA_EXCEEDED", known: false, message: "over quota" });
      await expect(client.ping()).resolves.toBeDefined();
      expect(events.filter((e) => e.type === "disconnected")).toEqual([]);
    } finally {
      await client.close();
      await cluster.close();
    }
  });

  it("reports an unknown push type as a status event and carries on", async () => {
    const cluster = await FakeCluster.start(1);
    const events: StatusEvent[] = [];
    const client = await connectTo(cluster, { onStatus: (e) => events.push(e) });
    try {
      cluster.leader.push({ t: "quota-warning", usedPct: 91 } as unknown as ServerFrame);
      await waitFor(() => events.some((e) => e.type === "unknown-frame"), 3000, "the unknown-frame event");
      expect(events.find((e) => e.type === "unknown-frame")).toMatchObject({ frameType: "quota-warning" });
      await expect(client.ping()).resolves.toBeDefined();
      expect(events.filter((e) => e.type === "disconnected")).toEqual([]);
    } finally {
      await client.close();
      await cluster.close();
    }
  });
});

/** Telling "nothing listens" (exit 4) from "no answer in time" (exit 5), with fake sockets. */
import type { WebSocketFactory, WebSocketLike } from "@raftbus/client";
import { describe, expect, it } from "vitest";
import { connectCli } from "../src/util/connect.ts";
import { CommandFailed, UnreachableError } from "../src/util/errors.ts";
import { EXIT } from "../src/util/exit-codes.ts";

/** A socket that stays connecting, or fails like a refused TCP connection after `failAfterMs`. */
function fakeSocket(failAfterMs: number | undefined, code = "ECONNREFUSED"): WebSocketLike & { addEventListener(type: string, l: (e: unknown) => void): void } {
  const listeners = new Map<string, ((e: unknown) => void)[]>();
  const socket = {
    binaryType: "arraybuffer",
    readyState: 0,
    bufferedAmount: 0,
    onopen: null,
    onmessage: null,
    onclose: null as ((event: never) => void) | null,
    onerror: null as ((event: never) => void) | null,
    send: () => undefined,
    close: () => undefined,
    addEventListener: (type: string, l: (e: unknown) => void) => void listeners.set(type, [...(listeners.get(type) ?? []), l]),
  };
  if (failAfterMs !== undefined) {
    setTimeout(() => {
      const error = Object.assign(new Error(`connect ${code}`), { code });
      for (const l of listeners.get("error") ?? []) l({ error });
      socket.onerror?.({ error } as never);
      socket.onclose?.({ code: 1006, reason: "" } as never);
    }, failAfterMs);
  }
  return socket;
}

describe("connecting from the CLI", () => {
  it("gives up at once when every server refused twice", async () => {
    const started = Date.now();
    const factory: WebSocketFactory = () => fakeSocket(5);
    const err = await connectCli({ servers: ["ws://a:1", "ws://b:2"], connectTimeoutMs: 5000, webSocketFactory: factory }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as UnreachableError).message).toBe("no raftbus server reachable at ws://a:1, ws://b:2 (ECONNREFUSED)");
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it("reports a timeout, not an unreachable cluster, when sockets neither open nor fail", async () => {
    const err = await connectCli({ servers: ["ws://a:1"], connectTimeoutMs: 150, webSocketFactory: () => fakeSocket(undefined) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailed);
    expect((err as CommandFailed).exitCode).toBe(EXIT.TIMEOUT);
    expect((err as CommandFailed).message).toMatch(/^no connection to the cluster leader within 150ms/);
  });
});

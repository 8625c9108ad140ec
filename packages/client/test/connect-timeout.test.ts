/**
 * A server that accepts TCP but never finishes the WebSocket handshake: the
 * SDK's handshake timeout closes a socket that is still CONNECTING. With the
 * `ws` library such a close emits an 'error' event, and an 'error' event
 * without a listener crashes the whole process (seen inside a node process,
 * whose system-event forwarder uses the SDK). The connect must fail with a
 * code instead.
 */
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { connect, RaftbusError } from "../src/node.ts";

let server: Server | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.length = 0;
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

function silentServer(): Promise<number> {
  return new Promise((resolve, reject) => {
    server = createServer((socket) => sockets.push(socket)); // accept, never answer
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const addr = server?.address();
      if (typeof addr === "object" && addr) resolve(addr.port);
      else reject(new Error("no port"));
    });
  });
}

describe("connect: a server that never answers the upgrade", () => {
  it("fails with TIMEOUT and leaves the process running", async () => {
    const port = await silentServer();
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown): void => void uncaught.push(err);
    process.on("uncaughtException", onUncaught);
    try {
      const err = await connect({ servers: [`ws://127.0.0.1:${port}`], timeoutMs: 600, reconnect: false }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RaftbusError);
      expect((err as RaftbusError).code).toBe("TIMEOUT");
      // The abort's 'error' event is emitted on a later tick: let it surface.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(uncaught).toEqual([]);
    } finally {
      process.off("uncaughtException", onUncaught);
    }
  });
});

/**
 * A bare protocol client for server tests: hello, one request at a time,
 * raw frames. Tests of the server's own behaviour use it so they do not
 * depend on the SDK's retries and redirects.
 */
import WebSocket from "ws";
import { PROTOCOL_VERSION, decodeServerFrame, encodeFrame } from "@raftbus/client/protocol";
import type { RequestBodies, RequestKind, ServerFrame } from "@raftbus/client/protocol";

/** A connected raw client. */
export class RawClient {
  private readonly frames: ServerFrame[] = [];
  private waiters: (() => void)[] = [];
  private nextId = 1;
  closedWith: { code: number; reason: string } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer) => {
      const frame = decodeServerFrame(new Uint8Array(data));
      if (frame.t !== "unknown") this.frames.push(frame);
      for (const w of this.waiters.splice(0)) w();
    });
    ws.on("close", (code, reason) => {
      this.closedWith = { code, reason: reason.toString() };
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Connect and say hello; resolves with the client and the server's answer. */
  static async connect(url: string): Promise<{ client: RawClient; welcome: ServerFrame }> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const client = new RawClient(ws);
    ws.send(encodeFrame({ t: "hello", version: PROTOCOL_VERSION, clientId: `raw-${Math.random().toString(36).slice(2)}` }));
    const welcome = await client.next((f) => f.t === "welcome" || f.t === "refused");
    return { client, welcome };
  }

  /** Wait for the next frame matching `pred` (bounded). */
  async next(pred: (f: ServerFrame) => boolean, timeoutMs = 10_000): Promise<ServerFrame> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex(pred);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (this.closedWith) throw new Error(`socket closed (${this.closedWith.code} ${this.closedWith.reason})`);
      const left = end - Date.now();
      if (left <= 0) throw new Error("no matching frame in time");
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Send a request and wait for its response frame. */
  async request<K extends RequestKind>(kind: K, body: RequestBodies[K]): Promise<ServerFrame> {
    const id = this.nextId++;
    this.ws.send(encodeFrame({ t: "req", id, kind, body } as never));
    return this.next((f) => f.t === "res" && f.id === id);
  }

  /** Send raw bytes (malformed frames). */
  sendRaw(bytes: Uint8Array | string): void {
    this.ws.send(bytes);
  }

  close(): void {
    this.ws.close();
  }
}

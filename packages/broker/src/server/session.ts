/**
 * One client connection (aedes-style: the session owns the socket and its
 * backpressure; one handler per request kind lives in handlers/). Frames are
 * decoded into unknown and validated by the shared protocol codec; a
 * malformed frame gets a BAD_REQUEST answer, repeated ones close the socket.
 */
import type { WebSocket } from "ws";
import { PROTOCOL_VERSION, RaftbusError, decodeClientFrame, encodeFrame } from "@raftbus/client/protocol";
import type { ErrorInfo, ServerFrame, ServerLimits } from "@raftbus/client/protocol";
import type { AnyRequestFrame, HelloFrame } from "@raftbus/client/protocol";

/** What a session needs from the server. */
export interface SessionHost {
  readonly nodeId: string;
  readonly limits: ServerLimits;
  /** Current leader id and client address (for welcome frames). */
  leader(): { id: string | null; address: string | null };
  /** Check a hello's token; returns an error to refuse it. */
  authenticate(hello: HelloFrame): ErrorInfo | undefined;
  /** Client addresses of the cluster's members (welcome `servers`). */
  servers(): string[];
  /** The session said hello and was accepted. */
  opened(session: ClientSession): void;
  /** Run one request; resolves with the response body or throws. */
  handle(session: ClientSession, req: AnyRequestFrame): Promise<unknown>;
  /** Map a thrown value to the wire error. */
  errorInfo(err: unknown): ErrorInfo;
  closed(session: ClientSession): void;
}

/** Limits of one session. */
export interface SessionLimits {
  /** Stop pushing deliveries while the socket buffers more than this. */
  readonly bufferedBytesMax: number;
  /** A socket that stays over bufferedBytesMax this long is closed (slow consumer). */
  readonly drainTimeoutMs: number;
  /** Malformed frames tolerated before the socket is closed. */
  readonly malformedFramesMax: number;
  /** Requests running at once; more are answered with BACKPRESSURE. */
  readonly pendingRequestsMax: number;
  /** Time a new socket has to say hello. */
  readonly helloTimeoutMs: number;
}

let nextSession = 1;

/** A connected client. */
export class ClientSession {
  readonly id = `s${Date.now().toString(36)}-${(nextSession++).toString(36)}`;
  clientId = "";
  name = "";
  lastSeenAt = Date.now();
  private greeted = false;
  private malformed = 0;
  private pending = 0;
  private drainTimer: ReturnType<typeof setTimeout> | undefined;
  private helloTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly drainWaiters: (() => void)[] = [];
  isClosed = false;

  constructor(private readonly ws: WebSocket, private readonly host: SessionHost, private readonly limits: SessionLimits) {
    ws.binaryType = "nodebuffer";
    ws.on("message", (data, isBinary) => this.onData(data as Buffer, isBinary));
    ws.on("close", () => this.onClose());
    ws.on("error", () => this.onClose());
    this.helloTimer = setTimeout(() => this.close(1008, "no hello"), limits.helloTimeoutMs);
  }

  private onData(data: Buffer, isBinary: boolean): void {
    this.lastSeenAt = Date.now();
    if (!isBinary) return this.badFrame(0, "frames must be binary msgpack");
    let frame;
    try {
      frame = decodeClientFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch (err) {
      const message = err instanceof RaftbusError ? err.message : "undecodable frame";
      // A request whose envelope could be read (its id) is answered as itself: the client's
      // request fails at once with BAD_REQUEST instead of waiting for its deadline, and a bad
      // body is a bad request, not a broken connection.
      const id = err instanceof RaftbusError ? err.details?.["requestId"] : undefined;
      if (this.greeted && typeof id === "number" && Number.isSafeInteger(id) && id > 0) return this.badRequest(id, message);
      return this.badFrame(0, message);
    }
    if (frame.t === "hello") return this.onHello(frame);
    if (!this.greeted) {
      this.send({ t: "refused", error: { code: "BAD_REQUEST", message: "send hello first" } });
      return this.close(1008, "no hello");
    }
    void this.onRequest(frame);
  }

  private onHello(hello: HelloFrame): void {
    if (this.greeted) return this.badFrame(0, "hello sent twice");
    if (hello.version !== PROTOCOL_VERSION) {
      this.send({ t: "refused", error: { code: "UNSUPPORTED_VERSION", message: `server speaks protocol ${PROTOCOL_VERSION}, client ${hello.version}`, details: { supported: String(PROTOCOL_VERSION) } } });
      return this.close(1002, "unsupported version");
    }
    const denied = this.host.authenticate(hello);
    if (denied) {
      this.send({ t: "refused", error: denied });
      return this.close(1008, "unauthorized");
    }
    clearTimeout(this.helloTimer);
    this.greeted = true;
    this.clientId = hello.clientId;
    this.name = hello.name ?? "";
    this.host.opened(this);
    const leader = this.host.leader();
    this.send({
      t: "welcome", version: PROTOCOL_VERSION, nodeId: this.host.nodeId, leaderId: leader.id,
      leaderAddress: leader.address, sessionId: this.id, limits: this.host.limits, servers: this.host.servers(),
    });
  }

  private async onRequest(req: AnyRequestFrame): Promise<void> {
    if (this.pending >= this.limits.pendingRequestsMax) {
      this.send({ t: "res", id: req.id, kind: req.kind, ok: false, error: { code: "BACKPRESSURE", message: `more than ${this.limits.pendingRequestsMax} requests outstanding; wait for answers` } });
      return;
    }
    this.pending++;
    try {
      const body = await this.host.handle(this, req);
      this.send({ t: "res", id: req.id, kind: req.kind, ok: true, body } as ServerFrame);
    } catch (err) {
      this.send({ t: "res", id: req.id, kind: req.kind, ok: false, error: this.host.errorInfo(err) });
    } finally {
      this.pending--;
    }
  }

  /** A well-framed request whose body is invalid: answered with its own id; the connection stays. */
  private badRequest(id: number, message: string): void {
    this.send({ t: "res", id, ok: false, error: { code: "BAD_REQUEST", message } });
  }

  private badFrame(id: number, message: string): void {
    this.malformed++;
    this.send({ t: "res", id, ok: false, error: { code: "BAD_REQUEST", message } });
    if (this.malformed > this.limits.malformedFramesMax) this.close(1008, "too many malformed frames");
  }

  /** Send a frame (responses always go out; pushes should check canPush first). */
  send(frame: ServerFrame): void {
    if (this.isClosed) return;
    this.ws.send(encodeFrame(frame), { binary: true }, () => this.checkDrained());
    this.watchBackpressure();
  }

  /** False while the socket is backed up: the dispatcher holds deliveries (bounded memory). */
  canPush(): boolean {
    return !this.isClosed && this.ws.bufferedAmount < this.limits.bufferedBytesMax;
  }

  /** Resolves once the socket has drained below the limit (or closed). */
  drained(): Promise<void> {
    if (this.canPush() || this.isClosed) return Promise.resolve();
    return new Promise((r) => this.drainWaiters.push(r));
  }

  private watchBackpressure(): void {
    if (this.ws.bufferedAmount < this.limits.bufferedBytesMax || this.drainTimer) return;
    this.drainTimer = setTimeout(() => {
      this.drainTimer = undefined;
      if (this.ws.bufferedAmount >= this.limits.bufferedBytesMax) this.close(1013, "slow consumer: socket did not drain in time");
    }, this.limits.drainTimeoutMs);
  }

  private checkDrained(): void {
    if (!this.canPush()) return;
    if (this.drainTimer) {
      clearTimeout(this.drainTimer);
      this.drainTimer = undefined;
    }
    for (const w of this.drainWaiters.splice(0)) w();
  }

  close(code: number, reason: string): void {
    if (this.isClosed) return;
    this.ws.close(code, reason);
    this.onClose();
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearTimeout(this.helloTimer);
    clearTimeout(this.drainTimer);
    for (const w of this.drainWaiters.splice(0)) w();
    this.host.closed(this);
  }
}

/**
 * One client connection (aedes-style: the session owns the socket and its
 * backpressure; one handler per request kind lives in handlers/). Frames are
 * decoded into unknown and validated by the shared protocol codec; a
 * malformed frame gets a BAD_REQUEST answer, repeated ones close the socket.
 *
 * Everything a connection can make the node hold is bounded (issue 13):
 * - the hello: a deadline (helloTimeoutMs) and a size (helloBytesMax);
 * - silence: the server pings a quiet connection and closes one that stays
 *   silent (idleTimeoutMs, IDLE_TIMEOUT) — also one that stopped reading,
 *   since it cannot answer pings;
 * - work: at most pendingRequestsMax requests and pendingRequestBytesMax
 *   frame bytes in progress; at either limit the server stops READING the
 *   socket (TCP pushes back on the client) rather than queueing;
 * - replies: while more than socketBufferBytesMax is queued to the socket,
 *   reading stops, deliveries are held and reads wait their turn; a socket
 *   that does not drain within drainTimeoutMs is closed (slow consumer);
 * - heavy reads (lists, infos, stats) run one at a time per connection, each
 *   only once the socket has room for its answer, so a client that never
 *   reads cannot make the node build answers nobody takes;
 * - closing cancels: queued reads never run, running ones see `isClosed`.
 */
import type { WebSocket } from "ws";
import { PROTOCOL_VERSION, RaftbusError, decodeClientFrame, encodeFrame } from "@raftbus/client/protocol";
import type { ErrorInfo, ServerFrame, ServerLimits } from "@raftbus/client/protocol";
import type { AnyRequestFrame, HelloFrame, RequestKind } from "@raftbus/client/protocol";
import { principalName } from "./auth/authenticator.ts";
import type { Principal } from "./auth/authenticator.ts";

/** An accepted hello: who the client is, and its reply inbox. */
export interface Admission {
  readonly principal: Principal;
  /** The one `_reply.` topic this session may always subscribe to (absent when its client id cannot name one). */
  readonly inbox: string | undefined;
}

/** What a session needs from the server. */
export interface SessionHost {
  readonly nodeId: string;
  readonly limits: ServerLimits;
  /** Current leader id and client address (for welcome frames). */
  leader(): { id: string | null; address: string | null };
  /** Check a hello's token: who the client is, or the error that refuses it. */
  authenticate(hello: HelloFrame, session: ClientSession): Admission | ErrorInfo;
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

/** Limits of one session (see limits-config.ts for their meaning and defaults). */
export interface SessionLimits {
  readonly socketBufferBytesMax: number;
  readonly drainTimeoutMs: number;
  /** Malformed frames tolerated before the socket is closed. */
  readonly malformedFramesMax: number;
  readonly pendingRequestsMax: number;
  readonly pendingRequestBytesMax: number;
  readonly helloTimeoutMs: number;
  readonly helloBytesMax: number;
  readonly pingIntervalMs: number;
  readonly idleTimeoutMs: number;
}

/**
 * Requests whose cost grows with the state they read (lists, infos,
 * statistics, backup pieces): run one at a time per session, each when the
 * socket has room.
 */
const HEAVY_READS: ReadonlySet<RequestKind> = new Set<RequestKind>([
  "topic.list", "topic.info", "subscription.list", "dlq.list", "stats", "cluster.status", "backup.read",
]);

/**
 * Frames read after reading paused, waiting for a pending slot. Only what
 * the socket had already delivered lands here (one read: tens of KiB), so
 * this cap is a safety net, not the working limit.
 */
const BACKLOG_FRAMES_MAX = 4096;

/** Longest client id and name, in UTF-16 units (they are logged and shown on status pages). */
export const CLIENT_ID_CHARS_MAX = 256;

let nextSession = 1;

/** A connected client. */
export class ClientSession {
  readonly id = `s${Date.now().toString(36)}-${(nextSession++).toString(36)}`;
  clientId = "";
  name = "";
  /** Who the hello's token says this client is (open until hello). */
  principal: Principal = { kind: "open" };
  /** This session's reply inbox (welcome `inbox`). */
  inbox: string | undefined;
  /** When anything (a frame or a pong) last arrived: the idle check's input. */
  lastHeardAt = Date.now();
  private greeted = false;
  private malformed = 0;
  private pending = 0;
  private pendingBytes = 0;
  private paused = false;
  private drainTimer: ReturnType<typeof setTimeout> | undefined;
  private helloTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly drainWaiters: (() => void)[] = [];
  /** Requests read after the session reached pendingRequestsMax (reading was already paused). */
  private readonly backlog: { req: AnyRequestFrame; bytes: number }[] = [];
  /** Tail of this session's heavy reads (one at a time). */
  private readTail: Promise<unknown> = Promise.resolve();
  isClosed = false;

  /** `address` is the client's IP address (for limits per address and logs). */
  constructor(private readonly ws: WebSocket, private readonly host: SessionHost, private readonly limits: SessionLimits, readonly address = "") {
    ws.binaryType = "nodebuffer";
    ws.on("message", (data, isBinary) => this.onData(data as Buffer, isBinary));
    ws.on("pong", () => (this.lastHeardAt = Date.now()));
    ws.on("close", () => this.onClose());
    ws.on("error", () => this.onClose());
    this.helloTimer = setTimeout(() => this.refuse({ code: "TIMEOUT", message: `no hello within ${limits.helloTimeoutMs} ms` }, 1008), limits.helloTimeoutMs);
  }

  /** Who this session publishes and subscribes as, for per-user limits: its user, or the client id when auth is open. */
  identity(): string {
    return principalName(this.principal) ?? (this.clientId || this.id);
  }

  /** The user this session authenticated as (undefined when auth is open). */
  get user(): string | undefined {
    return principalName(this.principal);
  }

  /**
   * Liveness, called periodically by the server: ping a connection quiet for
   * pingIntervalMs, close one silent for idleTimeoutMs (IDLE_TIMEOUT).
   */
  checkLiveness(now: number): void {
    if (this.isClosed || !this.greeted) return;
    const quietMs = now - this.lastHeardAt;
    if (quietMs >= this.limits.idleTimeoutMs) {
      this.send({ t: "goaway", reason: { code: "IDLE_TIMEOUT", message: `nothing received for ${quietMs} ms (idleTimeoutMs ${this.limits.idleTimeoutMs}); reconnect` } });
      this.terminate();
    } else if (quietMs >= this.limits.pingIntervalMs) {
      this.ws.ping();
    }
  }

  private onData(data: Buffer, isBinary: boolean): void {
    this.lastHeardAt = Date.now();
    if (this.isClosed) return;
    if (!this.greeted && data.byteLength > this.limits.helloBytesMax) {
      return this.refuse(limitExceeded("helloBytesMax", this.limits.helloBytesMax, `a first frame of ${data.byteLength} bytes`), 1009);
    }
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
    if (!this.greeted) return this.refuse({ code: "BAD_REQUEST", message: "send hello first" }, 1008);
    void this.onRequest(frame, data.byteLength);
  }

  private onHello(hello: HelloFrame): void {
    if (this.greeted) return this.badFrame(0, "hello sent twice");
    if (hello.version !== PROTOCOL_VERSION) {
      return this.refuse({ code: "UNSUPPORTED_VERSION", message: `server speaks protocol ${PROTOCOL_VERSION}, client ${hello.version}`, details: { supported: String(PROTOCOL_VERSION) } }, 1002);
    }
    if (hello.clientId.length > CLIENT_ID_CHARS_MAX || (hello.name ?? "").length > CLIENT_ID_CHARS_MAX) {
      return this.refuse({ code: "INVALID_ARGUMENT", message: `clientId and name must be at most ${CLIENT_ID_CHARS_MAX} characters` }, 1008);
    }
    this.clientId = hello.clientId;
    this.name = hello.name ?? "";
    const admitted = this.host.authenticate(hello, this);
    if ("code" in admitted) return this.refuse(admitted, 1008);
    clearTimeout(this.helloTimer);
    this.greeted = true;
    this.principal = admitted.principal;
    this.inbox = admitted.inbox;
    const user = principalName(admitted.principal);
    const leader = this.host.leader();
    this.send({
      t: "welcome", version: PROTOCOL_VERSION, nodeId: this.host.nodeId, leaderId: leader.id,
      leaderAddress: leader.address, sessionId: this.id, limits: this.host.limits, servers: this.host.servers(),
      ...(user !== undefined ? { user } : {}), ...(admitted.inbox !== undefined ? { inbox: admitted.inbox } : {}),
    });
    this.host.opened(this);
  }

  private async onRequest(req: AnyRequestFrame, bytes: number): Promise<void> {
    if (this.pending >= this.limits.pendingRequestsMax) {
      // Reading is paused, but frames already read from the socket still
      // arrive: they wait here (at most one socket read's worth, in practice).
      if (this.backlog.length >= BACKLOG_FRAMES_MAX) {
        this.send({ t: "res", id: req.id, kind: req.kind, ok: false, error: { code: "BACKPRESSURE", message: `more than ${this.limits.pendingRequestsMax} requests outstanding; wait for answers` } });
        return;
      }
      this.backlog.push({ req, bytes });
      return;
    }
    this.pending++;
    this.pendingBytes += bytes;
    this.updateReading();
    try {
      const body = HEAVY_READS.has(req.kind) ? await this.heavyRead(req) : await this.host.handle(this, req);
      this.send({ t: "res", id: req.id, kind: req.kind, ok: true, body } as ServerFrame);
    } catch (err) {
      this.send({ t: "res", id: req.id, kind: req.kind, ok: false, error: this.host.errorInfo(err) });
    } finally {
      this.pending--;
      this.pendingBytes -= bytes;
      const next = this.isClosed ? undefined : this.backlog.shift();
      if (next !== undefined) void this.onRequest(next.req, next.bytes);
      else this.updateReading();
    }
  }

  /** Runs a heavy read after the ones before it, once the socket has room; never for a closed session. */
  private heavyRead(req: AnyRequestFrame): Promise<unknown> {
    const run = this.readTail.then(async () => {
      await this.drained();
      if (this.isClosed) throw new RaftbusError("CONNECTION_CLOSED", "the connection closed before the request ran");
      return this.host.handle(this, req);
    });
    this.readTail = run.catch(() => undefined);
    return run;
  }

  /** Stops reading the socket while this session is at a limit; resumes when it is not. */
  private updateReading(): void {
    if (this.isClosed) return;
    const atLimit = this.pending >= this.limits.pendingRequestsMax
      || this.pendingBytes >= this.limits.pendingRequestBytesMax
      || this.ws.bufferedAmount >= this.limits.socketBufferBytesMax;
    if (atLimit && !this.paused) {
      this.paused = true;
      this.ws.pause();
    } else if (!atLimit && this.paused) {
      this.paused = false;
      this.ws.resume();
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

  /** Answers a connection that may not go on (before or at hello) and closes it. */
  private refuse(error: ErrorInfo, closeCode: number): void {
    this.send({ t: "refused", error });
    this.close(closeCode, error.code);
  }

  /** Send a frame (responses always go out; pushes should check canPush first). */
  send(frame: ServerFrame): void {
    if (this.isClosed) return;
    this.ws.send(encodeFrame(frame), { binary: true }, () => this.checkDrained());
    this.watchBackpressure();
  }

  /** False while the socket is backed up: the dispatcher holds deliveries (bounded memory). */
  canPush(): boolean {
    return !this.isClosed && this.ws.bufferedAmount < this.limits.socketBufferBytesMax;
  }

  /** Resolves once the socket has drained below the limit (or closed). */
  drained(): Promise<void> {
    if (this.canPush() || this.isClosed) return Promise.resolve();
    return new Promise((r) => this.drainWaiters.push(r));
  }

  private watchBackpressure(): void {
    if (this.ws.bufferedAmount < this.limits.socketBufferBytesMax) return;
    this.updateReading();
    if (this.drainTimer) return;
    this.drainTimer = setTimeout(() => {
      this.drainTimer = undefined;
      if (this.ws.bufferedAmount >= this.limits.socketBufferBytesMax) {
        // A close handshake would queue behind the unread bytes: cut the socket.
        this.terminate();
      }
    }, this.limits.drainTimeoutMs);
  }

  private checkDrained(): void {
    if (!this.canPush()) return;
    if (this.drainTimer) {
      clearTimeout(this.drainTimer);
      this.drainTimer = undefined;
    }
    this.updateReading();
    for (const w of this.drainWaiters.splice(0)) w();
  }

  /** Close with a close frame (the client reads it after what is queued). */
  close(code: number, reason: string): void {
    if (this.isClosed) return;
    this.ws.close(code, reason);
    this.onClose();
  }

  /** Drop the connection at once, without a close handshake (a client that does not read). */
  terminate(): void {
    if (this.isClosed) return;
    this.ws.terminate();
    this.onClose();
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearTimeout(this.helloTimer);
    clearTimeout(this.drainTimer);
    this.backlog.length = 0;
    for (const w of this.drainWaiters.splice(0)) w();
    this.host.closed(this);
  }
}

/** The error for a count or size limit: LIMIT_EXCEEDED naming the limit. */
export function limitExceeded(limit: string, max: number, what: string): ErrorInfo {
  return { code: "LIMIT_EXCEEDED", message: `${what} exceeds ${limit} (${max})`, details: { limit, max } };
}

/**
 * One WebSocket connection to one node: the hello/welcome handshake, request
 * ids matched to responses, and pushes handed to the owner. It knows nothing
 * about leaders, retries or reconnects (that is `session.ts`); when the socket
 * ends, every outstanding request fails with CONNECTION_CLOSED and `closed`
 * resolves with the reason.
 */
import {
  decodeServerFrame, encodeFrame, FRAME_BYTES_MAX, PROTOCOL_VERSION, RaftbusError, REQUEST_ID_MAX,
  type AnyRequestFrame, type HelloFrame, type PushFrame, type RequestFrame, type RequestKind, type RequestBodies, type ResponseBodies, type ResponseFrame,
  type ServerFrame, type UnknownFrame, type WelcomeFrame,
} from "./protocol/index.ts";
import {
  CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR, messageBytes, SOCKET_OPEN,
  type CloseEventLike, type MessageEventLike, type WebSocketFactory, type WebSocketLike,
} from "./transport.ts";
import type { TimerHandle } from "./util/timers.ts";

/** How to open a {@link Connection}. */
export interface ConnectionOptions {
  readonly url: string;
  readonly factory: WebSocketFactory;
  /** The hello fields (the SDK fills `t` and `version`). */
  readonly hello: Omit<HelloFrame, "t" | "version">;
  /** Deadline for socket open + welcome, in ms. */
  readonly handshakeTimeoutMs: number;
  /** Most requests awaiting a response on this connection; more fail with BACKPRESSURE. */
  readonly pendingRequestsMax: number;
  /** Called for every push frame, in arrival order. */
  readonly onPush: (frame: PushFrame, connection: Connection) => void;
  /** Called for a frame of a type this SDK does not know (a newer server's); the connection carries on. */
  readonly onUnknownFrame?: (frame: UnknownFrame, connection: Connection) => void;
}

interface Pending {
  readonly kind: RequestKind;
  readonly resolve: (body: unknown) => void;
  readonly reject: (err: RaftbusError) => void;
  readonly onOk: ((body: unknown) => void) | undefined;
  readonly timer: TimerHandle;
}

function closedError(url: string, event: CloseEventLike): RaftbusError {
  const reason = String(event.reason);
  return new RaftbusError("CONNECTION_CLOSED", `connection to ${url} closed (code ${event.code}${reason ? `: ${reason}` : ""})`);
}

function detach(socket: WebSocketLike): void {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  // Not null: closing a socket that is still connecting makes Node's `ws`
  // emit 'error', and an 'error' event with no listener crashes the process.
  socket.onerror = () => undefined;
}

function closeQuietly(socket: WebSocketLike, code: number, reason: string): void {
  try {
    socket.close(code, reason);
  } catch (err) {
    // A socket still connecting may refuse close() on some platforms; it is being dropped either way.
    void err;
  }
}

/** An open, welcomed connection to one node. */
export class Connection {
  /** The address this connection was opened to. */
  readonly url: string;
  /** What the node said when it accepted the connection. */
  readonly welcome: WelcomeFrame;
  /** Resolves, never rejects, with the reason the connection ended. */
  readonly closed: Promise<RaftbusError>;

  readonly #socket: WebSocketLike;
  readonly #options: ConnectionOptions;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closeReason: RaftbusError | undefined;
  #resolveClosed!: (reason: RaftbusError) => void;

  private constructor(socket: WebSocketLike, welcome: WelcomeFrame, options: ConnectionOptions) {
    this.url = options.url;
    this.welcome = welcome;
    this.#socket = socket;
    this.#options = options;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    socket.onmessage = (event: MessageEventLike) => this.#onMessage(event);
    socket.onclose = (event: CloseEventLike) => this.#finish(closedError(this.url, event));
    socket.onerror = () => undefined; // a close event always follows and carries the reason
  }

  /**
   * Open a socket to `options.url`, send hello and wait for welcome.
   * @throws RaftbusError: the node's own error when it refused the hello
   *   (UNAUTHORIZED, UNSUPPORTED_VERSION…), CONNECTION_CLOSED when the socket
   *   failed, TIMEOUT when no welcome came in time, BAD_REQUEST when the node
   *   spoke something else.
   */
  static open(options: ConnectionOptions): Promise<Connection> {
    const { url } = options;
    return new Promise<Connection>((resolve, reject) => {
      let socket: WebSocketLike;
      try {
        socket = options.factory(url);
      } catch (err) {
        reject(new RaftbusError("CONNECTION_CLOSED", `cannot open ${url}: ${err instanceof Error ? err.message : String(err)}`));
        return;
      }
      socket.binaryType = "arraybuffer";
      const fail = (err: RaftbusError): void => {
        clearTimeout(timer);
        detach(socket);
        closeQuietly(socket, err.code === "BAD_REQUEST" ? CLOSE_PROTOCOL_ERROR : CLOSE_NORMAL, err.code);
        reject(err);
      };
      const timer = setTimeout(() => fail(new RaftbusError("TIMEOUT", `no welcome from ${url} within ${options.handshakeTimeoutMs} ms`)), options.handshakeTimeoutMs);
      socket.onopen = () => {
        const hello: HelloFrame = { t: "hello", version: PROTOCOL_VERSION, ...options.hello };
        socket.send(encodeFrame(hello));
      };
      socket.onerror = () => undefined; // a close event always follows
      socket.onclose = (event: CloseEventLike) => fail(closedError(url, event));
      socket.onmessage = (event: MessageEventLike) => {
        let frame: ServerFrame | UnknownFrame;
        try {
          frame = decodeServerFrame(messageBytes(event), { maxFrameBytes: FRAME_BYTES_MAX });
        } catch (err) {
          fail(err instanceof RaftbusError ? err : new RaftbusError("BAD_REQUEST", String(err)));
          return;
        }
        if (frame.t === "unknown") {
          return; // a newer server's frame before its welcome: not ours to understand
        } else if (frame.t === "refused") {
          fail(RaftbusError.fromInfo(frame.error));
        } else if (frame.t !== "welcome") {
          fail(new RaftbusError("BAD_REQUEST", `expected welcome from ${url}, got "${frame.t}"`));
        } else if (frame.version !== PROTOCOL_VERSION) {
          fail(new RaftbusError("UNSUPPORTED_VERSION", `${url} speaks protocol ${frame.version}, this SDK ${PROTOCOL_VERSION}`));
        } else {
          clearTimeout(timer);
          resolve(new Connection(socket, frame, options));
        }
      };
    });
  }

  /** True until the socket closed or {@link close} was called. */
  get isOpen(): boolean {
    return this.#closeReason === undefined;
  }

  /** Why the connection ended, once it has. */
  get closeReason(): RaftbusError | undefined {
    return this.#closeReason;
  }

  /** Bytes written but not yet sent (for send-side backpressure). */
  get bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }

  /** Requests awaiting a response. */
  get pendingRequests(): number {
    return this.#pending.size;
  }

  /**
   * Send a request and await its `ok` body.
   * @param onOk called synchronously when the `ok` response is read, before any
   *   later frame is dispatched: a subscriber registers its new subscription id
   *   here so that deliveries right behind the response find it.
   * @throws RaftbusError: the server's error, TIMEOUT after `timeoutMs`,
   *   CONNECTION_CLOSED (outcome unknown if the request was sent),
   *   BACKPRESSURE when too many requests are outstanding,
   *   PAYLOAD_TOO_LARGE when the frame exceeds the server's maxFrameBytes.
   */
  request<K extends RequestKind>(
    kind: K,
    body: RequestBodies[K],
    timeoutMs: number,
    onOk?: (body: ResponseBodies[K]) => void,
  ): Promise<ResponseBodies[K]> {
    if (this.#closeReason !== undefined || this.#socket.readyState !== SOCKET_OPEN) {
      return Promise.reject(new RaftbusError("CONNECTION_CLOSED", `connection to ${this.url} is closed`, { details: { sent: false } }));
    }
    if (this.#pending.size >= this.#options.pendingRequestsMax) {
      return Promise.reject(new RaftbusError("BACKPRESSURE", `${this.#pending.size} requests already outstanding on ${this.url}`));
    }
    const id = this.#allocateId();
    const frame: RequestFrame<K> = { t: "req", id, kind, body };
    const bytes = encodeFrame(frame as AnyRequestFrame);
    if (bytes.byteLength > this.welcome.limits.maxFrameBytes) {
      return Promise.reject(new RaftbusError("PAYLOAD_TOO_LARGE", `${kind} request of ${bytes.byteLength} bytes exceeds the server's frame limit of ${this.welcome.limits.maxFrameBytes}`, {
        details: { frameBytes: bytes.byteLength, maxFrameBytes: this.welcome.limits.maxFrameBytes },
      }));
    }
    return new Promise<ResponseBodies[K]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RaftbusError("TIMEOUT", `${kind} request got no answer from ${this.url} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        kind,
        resolve: resolve as (body: unknown) => void,
        reject,
        onOk: onOk as ((body: unknown) => void) | undefined,
        timer,
      });
      this.#socket.send(bytes);
    });
  }

  /** Close the connection; outstanding requests fail with `reason`. Idempotent. */
  close(reason: RaftbusError = new RaftbusError("CONNECTION_CLOSED", "closed by the client")): void {
    if (this.#closeReason !== undefined) return;
    closeQuietly(this.#socket, reason.code === "BAD_REQUEST" ? CLOSE_PROTOCOL_ERROR : CLOSE_NORMAL, reason.code);
    this.#finish(reason);
  }

  #allocateId(): number {
    // Ids wrap at REQUEST_ID_MAX; pendingRequestsMax ≪ REQUEST_ID_MAX, so a free id is always near.
    for (let tries = 0; tries <= this.#options.pendingRequestsMax; tries++) {
      const id = this.#nextId;
      this.#nextId = id >= REQUEST_ID_MAX ? 1 : id + 1;
      if (!this.#pending.has(id)) return id;
    }
    throw new Error("assertion failed: no free request id although pending < pendingRequestsMax");
  }

  #finish(reason: RaftbusError): void {
    if (this.#closeReason !== undefined) return;
    this.#closeReason = reason;
    detach(this.#socket);
    const failure = new RaftbusError("CONNECTION_CLOSED", reason.message, { details: { sent: true, cause: reason.code } });
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(failure);
    }
    this.#pending.clear();
    this.#resolveClosed(reason);
  }

  #onMessage(event: MessageEventLike): void {
    let frame: ServerFrame | UnknownFrame;
    try {
      frame = decodeServerFrame(messageBytes(event), { maxFrameBytes: FRAME_BYTES_MAX });
    } catch (err) {
      const error = err instanceof RaftbusError ? err : new RaftbusError("BAD_REQUEST", String(err));
      // A malformed answer to one request fails that request; anything else breaks the connection.
      const requestId = error.details?.["requestId"];
      const pending = typeof requestId === "number" ? this.#pending.get(requestId) : undefined;
      if (pending !== undefined) this.#settle(requestId as number, pending).reject(error);
      else this.close(error);
      return;
    }
    switch (frame.t) {
      case "unknown":
        this.#options.onUnknownFrame?.(frame, this);
        return;
      case "res":
        this.#onResponse(frame);
        return;
      case "welcome":
      case "refused":
        this.close(new RaftbusError("BAD_REQUEST", `unexpected "${frame.t}" from ${this.url} after the handshake`));
        return;
      default:
        this.#options.onPush(frame, this);
    }
  }

  #settle(id: number, pending: Pending): Pending {
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    return pending;
  }

  #onResponse(frame: ResponseFrame): void {
    const pending = this.#pending.get(frame.id);
    // No pending entry: the request timed out already and its caller moved on.
    if (pending === undefined) return;
    this.#settle(frame.id, pending);
    if (!frame.ok) {
      pending.reject(RaftbusError.fromInfo(frame.error));
    } else if (frame.kind !== pending.kind) {
      this.close(new RaftbusError("BAD_REQUEST", `response ${frame.id} is a "${frame.kind}", the request was "${pending.kind}"`));
    } else {
      pending.onOk?.(frame.body);
      pending.resolve(frame.body);
    }
  }
}

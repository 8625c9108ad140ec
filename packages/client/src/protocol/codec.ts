/**
 * Frame codec: msgpack bytes ⇄ typed frames. Pure: no sockets, no clocks.
 *
 * `decodeFrame` decodes into `unknown`, checks the frame against its schema
 * and returns it typed, or throws a RaftbusError with code BAD_REQUEST and a
 * message naming the offending field. It never throws anything else, whatever
 * the bytes (the fuzz test holds it to that). When the frame is a request
 * whose id could be read, `details.requestId` carries it, so the server can
 * answer that request with the error instead of dropping the connection.
 */
import { Packr, type Options } from "msgpackr";
import { RaftbusError } from "./errors.ts";
import { FRAME_BYTES_MAX, REQUEST_ID_MAX } from "./limits.ts";
import { isRequestKind } from "./requests.ts";
import { arr, bool, isPlainObject, lit, nat, nonEmptyStr, nullable, obj, opt, pos, str, type Schema } from "./schema.ts";
import { deliverySchema, errorInfoSchema, requestSchemas, responseSchemas, serverLimitsSchema } from "./validate.ts";
import type {
  ClientFrame, DeliverFrame, Frame, GoAwayFrame, HelloFrame, LeaderChangedFrame, RefusedFrame, ServerFrame,
  SubscriptionClosedFrame, WelcomeFrame,
} from "./frames.ts";

/** Options of {@link decodeFrame}. */
export interface DecodeOptions {
  /** Refuse frames longer than this many bytes before parsing them. Default {@link FRAME_BYTES_MAX}. */
  readonly maxFrameBytes?: number;
}

// Plain msgpack maps (no msgpackr records), so any msgpack implementation can
// speak the protocol; optional fields left undefined are omitted, not encoded.
const packrOptions: Options & { skipValues: unknown[] } = {
  useRecords: false,
  mapsAsObjects: true,
  int64AsType: "number",
  skipValues: [undefined],
};
const packr = new Packr(packrOptions);

/** Encode a frame (a view into msgpackr's buffer that later encodes never overwrite). */
export function encodeFrame(frame: Frame): Uint8Array {
  return packr.pack(frame);
}

function badRequest(message: string, requestId?: number): RaftbusError {
  return new RaftbusError("BAD_REQUEST", message, requestId !== undefined ? { details: { requestId } } : {});
}

function checked<T>(schema: Schema<T>, value: unknown, path: string, requestId?: number): T {
  const err = schema.check(value, path);
  if (err !== undefined) throw badRequest(`malformed frame: ${err}`, requestId);
  return value as T;
}

const helloSchema = obj<HelloFrame>({ t: lit("hello"), version: pos, clientId: nonEmptyStr, name: opt(str), token: opt(str) });
const welcomeSchema = obj<WelcomeFrame>({
  t: lit("welcome"), version: pos, nodeId: nonEmptyStr, leaderId: nullable(nonEmptyStr), leaderAddress: nullable(nonEmptyStr),
  sessionId: nonEmptyStr, limits: serverLimitsSchema,
});
const refusedSchema = obj<RefusedFrame>({ t: lit("refused"), error: errorInfoSchema });
const deliverSchema = obj<DeliverFrame>({ t: lit("deliver"), subscriptionId: nonEmptyStr, messages: arr(deliverySchema) });
const subscriptionClosedSchema = obj<SubscriptionClosedFrame>({ t: lit("subscription-closed"), subscriptionId: nonEmptyStr, reason: errorInfoSchema });
const leaderChangedSchema = obj<LeaderChangedFrame>({ t: lit("leader-changed"), leaderId: nullable(nonEmptyStr), leaderAddress: nullable(nonEmptyStr), term: nat });
const goAwaySchema = obj<GoAwayFrame>({ t: lit("goaway"), reason: errorInfoSchema, reconnectTo: opt(nonEmptyStr) });

function decodeRequest(value: Record<string, unknown>): ClientFrame {
  const id = value["id"];
  if (!Number.isSafeInteger(id) || (id as number) < 1 || (id as number) > REQUEST_ID_MAX) {
    throw badRequest(`malformed frame: frame.id: expected integer in 1..${REQUEST_ID_MAX}`);
  }
  const requestId = id as number;
  const kind = value["kind"];
  if (!isRequestKind(kind)) throw badRequest(`unknown request kind ${JSON.stringify(kind) ?? "undefined"}`, requestId);
  const body: Schema<unknown> = requestSchemas[kind];
  checked(body, value["body"], "frame.body", requestId);
  return value as unknown as ClientFrame;
}

function decodeResponse(value: Record<string, unknown>): ServerFrame {
  checked(nat, value["id"], "frame.id");
  const ok = checked(bool, value["ok"], "frame.ok");
  const kind = value["kind"];
  if (ok) {
    if (!isRequestKind(kind)) throw badRequest(`unknown response kind ${JSON.stringify(kind) ?? "undefined"}`);
    const body: Schema<unknown> = responseSchemas[kind];
    checked(body, value["body"], "frame.body");
  } else {
    if (kind !== undefined && !isRequestKind(kind)) throw badRequest(`unknown response kind ${JSON.stringify(kind)}`);
    checked(errorInfoSchema, value["error"], "frame.error");
  }
  return value as unknown as ServerFrame;
}

function validateFrame(value: unknown): Frame {
  if (!isPlainObject(value)) throw badRequest("malformed frame: expected a map");
  const t = value["t"];
  switch (t) {
    case "hello": return checked(helloSchema, value, "frame");
    case "req": return decodeRequest(value);
    case "welcome": return checked(welcomeSchema, value, "frame");
    case "refused": return checked(refusedSchema, value, "frame");
    case "res": return decodeResponse(value);
    case "deliver": return checked(deliverSchema, value, "frame");
    case "subscription-closed": return checked(subscriptionClosedSchema, value, "frame");
    case "leader-changed": return checked(leaderChangedSchema, value, "frame");
    case "goaway": return checked(goAwaySchema, value, "frame");
    default: throw badRequest(`unknown frame type ${JSON.stringify(t) ?? "undefined"}`);
  }
}

/**
 * Decode and validate one frame of either direction.
 * @throws RaftbusError BAD_REQUEST for oversized, undecodable or malformed frames (and nothing else).
 */
export function decodeFrame(bytes: Uint8Array, options: DecodeOptions = {}): Frame {
  const maxFrameBytes = options.maxFrameBytes ?? FRAME_BYTES_MAX;
  if (bytes.byteLength > maxFrameBytes) {
    throw new RaftbusError("BAD_REQUEST", `frame of ${bytes.byteLength} bytes exceeds the limit of ${maxFrameBytes}`, {
      details: { frameBytes: bytes.byteLength, maxFrameBytes },
    });
  }
  if (bytes.byteLength === 0) throw badRequest("empty frame");
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (err) {
    // msgpackr reports truncation, trailing bytes, unknown extensions, absurd lengths… as plain Errors.
    throw badRequest(`undecodable frame: ${err instanceof Error ? err.message : String(err)}`);
  }
  return validateFrame(value);
}

/** Decode a frame a client may send (hello, req); the server's entry point. */
export function decodeClientFrame(bytes: Uint8Array, options: DecodeOptions = {}): ClientFrame {
  const frame = decodeFrame(bytes, options);
  if (frame.t !== "hello" && frame.t !== "req") throw badRequest(`a client may not send a "${frame.t}" frame`);
  return frame;
}

/** Decode a frame a server may send; the SDK's entry point. */
export function decodeServerFrame(bytes: Uint8Array, options: DecodeOptions = {}): ServerFrame {
  const frame = decodeFrame(bytes, options);
  if (frame.t === "hello" || frame.t === "req") throw badRequest(`a server may not send a "${frame.t}" frame`);
  return frame;
}

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
import type { ClientFrame, Frame, ServerFrame, UnknownFrame } from "./frames.ts";
import { FRAME_BYTES_MAX, REQUEST_ID_MAX } from "./limits.ts";
import { isRequestKind, REQUESTS } from "./requests.ts";
import { ErrorResponseFrame, FRAME_SCHEMAS, OkResponseEnvelope, RequestEnvelope } from "./schemas/frames.ts";
import { checkOf, isPlainObject, type Check } from "./validate.ts";

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

function checked<T>(check: Check, value: unknown, path: string, requestId?: number): T {
  const err = check(value, path);
  if (err !== undefined) throw badRequest(`malformed frame: ${err}`, requestId);
  return value as T;
}

const frameChecks = Object.fromEntries(Object.entries(FRAME_SCHEMAS).map(([t, schema]) => [t, checkOf(schema)])) as Record<keyof typeof FRAME_SCHEMAS, Check>;
const requestEnvelope = checkOf(RequestEnvelope);
const okEnvelope = checkOf(OkResponseEnvelope);
const errorResponse = checkOf(ErrorResponseFrame);
const requestBodies = new Map(Object.entries(REQUESTS).map(([kind, spec]) => [kind, checkOf(spec.request)]));
const responseBodies = new Map(Object.entries(REQUESTS).map(([kind, spec]) => [kind, checkOf(spec.response)]));

function decodeRequest(value: Record<string, unknown>): ClientFrame {
  const id = value["id"];
  if (!Number.isSafeInteger(id) || (id as number) < 1 || (id as number) > REQUEST_ID_MAX) {
    throw badRequest(`malformed frame: frame.id: expected integer in 1..${REQUEST_ID_MAX}`);
  }
  const requestId = id as number;
  const kind = value["kind"];
  if (!isRequestKind(kind)) throw badRequest(`unknown request kind ${JSON.stringify(kind) ?? "undefined"}`, requestId);
  checked(requestEnvelope, value, "frame", requestId);
  checked(requestBodies.get(kind)!, value["body"], "frame.body", requestId);
  return value as unknown as ClientFrame;
}

function decodeResponse(value: Record<string, unknown>): ServerFrame {
  if (value["ok"] === false) return checked(errorResponse, value, "frame");
  checked(okEnvelope, value, "frame");
  const kind = value["kind"];
  // A kind this SDK does not know cannot be an answer to its request; fail that request only.
  if (!isRequestKind(kind)) throw badRequest(`unknown response kind ${JSON.stringify(kind)}`, value["id"] as number);
  checked(responseBodies.get(kind)!, value["body"], "frame.body", value["id"] as number);
  return value as unknown as ServerFrame;
}

function validateFrame(value: unknown): Frame | UnknownFrame {
  if (!isPlainObject(value)) throw badRequest("malformed frame: expected a map");
  const t = value["t"];
  if (typeof t !== "string" || t === "") throw badRequest(`malformed frame: frame.t: expected a frame type, got ${JSON.stringify(t) ?? "nothing"}`);
  if (t === "req") return decodeRequest(value);
  if (t === "res") return decodeResponse(value);
  if (Object.hasOwn(frameChecks, t)) return checked(frameChecks[t as keyof typeof FRAME_SCHEMAS], value, "frame");
  // A newer peer's frame type: carried, not fatal (docs/protocol.md §1, forward compatibility).
  return { t: "unknown", type: t, frame: value };
}

/**
 * Decode and validate one frame of either direction.
 * @throws RaftbusError BAD_REQUEST for oversized, undecodable or malformed frames (and nothing else).
 */
export function decodeFrame(bytes: Uint8Array, options: DecodeOptions = {}): Frame | UnknownFrame {
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
  if (frame.t === "unknown") throw badRequest(`unknown frame type ${JSON.stringify(frame.type)}`);
  if (frame.t !== "hello" && frame.t !== "req") throw badRequest(`a client may not send a "${frame.t}" frame`);
  return frame;
}

/**
 * Decode a frame a server may send; the SDK's entry point. A frame type it
 * does not know comes back as an {@link UnknownFrame}, not as an error.
 */
export function decodeServerFrame(bytes: Uint8Array, options: DecodeOptions = {}): ServerFrame | UnknownFrame {
  const frame = decodeFrame(bytes, options);
  if (frame.t === "hello" || frame.t === "req") throw badRequest(`a server may not send a "${frame.t}" frame`);
  return frame;
}

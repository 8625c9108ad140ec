/**
 * Payload encoding: what users hand to publish becomes bytes on the wire;
 * what arrives can be read back as bytes, text or JSON.
 */
import { RaftbusError } from "./protocol/index.ts";

/**
 * What `publish` accepts: bytes as they are (Uint8Array, Buffer, ArrayBuffer,
 * any typed array), a string as UTF-8, anything else as UTF-8 JSON.
 */
export type Payload = Uint8Array | ArrayBuffer | ArrayBufferView | string | number | boolean | null | object;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encode a payload to bytes.
 * @throws RaftbusError INVALID_ARGUMENT for undefined, functions, symbols,
 *   bigints and objects JSON cannot encode (cycles, bigint fields).
 */
export function encodePayload(payload: Payload): Uint8Array {
  if (payload instanceof Uint8Array) return payload;
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  if (ArrayBuffer.isView(payload)) return new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
  if (typeof payload === "string") return encoder.encode(payload);
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
  } catch (err) {
    throw new RaftbusError("INVALID_ARGUMENT", `payload is not JSON-encodable: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (json === undefined) throw new RaftbusError("INVALID_ARGUMENT", `payload of type ${typeof payload} is not JSON-encodable`);
  return encoder.encode(json);
}

/** Decode bytes as UTF-8 (invalid sequences become U+FFFD). */
export function decodeString(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/**
 * Parse bytes as UTF-8 JSON.
 * @throws RaftbusError INVALID_ARGUMENT when the bytes are not JSON.
 */
export function decodeJson<T = unknown>(bytes: Uint8Array): T {
  try {
    return JSON.parse(decoder.decode(bytes)) as T;
  } catch (err) {
    throw new RaftbusError("INVALID_ARGUMENT", `payload is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

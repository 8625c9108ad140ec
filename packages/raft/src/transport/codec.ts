/**
 * Encoding and decoding of peer frames (frames.ts). Pure functions over
 * bytes, no I/O, tested byte by byte (the nats.js parser discipline):
 * decoding never throws anything but FrameError, whatever the input.
 */
import { Packr } from "msgpackr";
import { FrameError } from "./errors.ts";
import type { Frame, SnapAckFrame } from "./frames.ts";
import {
  AUTH_BYTES, FRAME_KINDS, FRAMES_PER_PACKET_MAX, NONCE_BYTES_MAX, NONCE_BYTES_MIN, PROTOCOL_VERSION,
} from "./frames.ts";
import {
  readBool, readBytes, readFields, readId, readMessage, readSnapshotMessage, readSnapshotMeta, readUint,
} from "./guards.ts";
import type { Fields } from "./guards.ts";

// No records or shared structures: every frame must decode on its own, with
// no state carried between packets (a dropped packet must not poison the next).
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  bundleStrings: false,
  structuredClone: false,
  int64AsType: "number",
});

/** Encodes one frame. The result stays valid after later calls (msgpackr does not reuse it). */
export function encodeFrame(frame: Frame): Uint8Array {
  return packr.pack(frame);
}

/** Concatenates already encoded frames into one packet (one WebSocket message). */
export function joinFrames(frames: readonly Uint8Array[]): Uint8Array {
  if (frames.length === 1 && frames[0] !== undefined) return frames[0];
  return Buffer.concat(frames);
}

/**
 * Decodes one packet into its frames, validating every field. Throws
 * FrameError on any defect: the whole packet is dropped (a half-trusted
 * packet is not worth the complexity).
 */
export function decodePacket(packet: Uint8Array): Frame[] {
  if (packet.byteLength === 0) throw new FrameError("packet", "empty");
  const frames: Frame[] = [];
  let failure: unknown = undefined;
  try {
    // The callback must not throw into msgpackr: record the error and stop.
    packr.unpackMultiple(packet, (value: unknown) => {
      try {
        if (frames.length >= FRAMES_PER_PACKET_MAX) throw new FrameError("packet", `more than ${FRAMES_PER_PACKET_MAX} frames`);
        frames.push(readFrame(value));
        return true;
      } catch (e) {
        failure = e;
        return false;
      }
    });
  } catch (e) {
    // msgpackr rejects truncated or invalid msgpack with plain Errors (or RangeErrors).
    throw new FrameError("packet", `not msgpack: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (failure !== undefined) {
    if (failure instanceof FrameError) throw failure;
    throw new FrameError("packet", `validation failed: ${String(failure)}`);
  }
  return frames;
}

/** Validates one decoded frame value. */
export function readFrame(value: unknown): Frame {
  const f = readFields(value, "frame");
  if (f["v"] !== PROTOCOL_VERSION) throw new FrameError("frame.v", `unsupported version (want ${PROTOCOL_VERSION})`);
  const kind = f["kind"];
  if (typeof kind !== "string" || !FRAME_KINDS.has(kind as Frame["kind"])) throw new FrameError("frame.kind", "unknown kind");
  switch (kind as Frame["kind"]) {
    case "challenge":
      return { v: 1, kind: "challenge", nonce: readBytes(f["nonce"], "frame.nonce", NONCE_BYTES_MIN, NONCE_BYTES_MAX) };
    case "hello":
      return {
        v: 1, kind: "hello",
        nodeId: readId(f["nodeId"], "frame.nodeId"),
        clusterId: readId(f["clusterId"], "frame.clusterId"),
        to: readId(f["to"], "frame.to"),
        nonce: readBytes(f["nonce"], "frame.nonce", NONCE_BYTES_MIN, NONCE_BYTES_MAX),
        auth: readBytes(f["auth"], "frame.auth", AUTH_BYTES, AUTH_BYTES),
      };
    case "raft": {
      const msg = readMessage(f["msg"], "frame.msg");
      // A snap message without its data would break the SnapshotSink contract.
      if (msg.type === "snap") throw new FrameError("frame.msg.type", "snap travels as snapOffer");
      return { v: 1, kind: "raft", msg };
    }
    case "snapOffer":
      return { v: 1, kind: "snapOffer", msg: readSnapshotMessage(f["msg"], "frame.msg") };
    case "snapChunk":
      return {
        v: 1, kind: "snapChunk",
        meta: readSnapshotMeta(f["meta"], "frame.meta"),
        offset: readUint(f["offset"], "frame.offset"),
        data: readBytes(f["data"], "frame.data"),
        done: readBool(f["done"], "frame.done"),
      };
    case "snapAck":
      return readSnapAck(f);
  }
}

function readSnapAck(f: Fields): SnapAckFrame {
  return {
    v: 1, kind: "snapAck",
    index: readUint(f["index"], "frame.index"),
    term: readUint(f["term"], "frame.term"),
    offset: readUint(f["offset"], "frame.offset"),
    done: readBool(f["done"], "frame.done"),
    failed: readBool(f["failed"], "frame.failed"),
  };
}

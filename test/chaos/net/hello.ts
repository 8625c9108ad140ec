/**
 * Who dialed a peer connection, read from the connection itself: the
 * dialer's first WebSocket message is the transport's `hello` frame, which
 * names it (packages/raft/src/transport/frames.ts). The loopback layer needs
 * this because every dialer reaches a node at one shared address (the one
 * the replicated address book records), so neither the listener port nor
 * the source address (always 127.0.0.1) tells dialers apart.
 */
import { decodePacket, encodeFrame } from "../../../packages/raft/src/transport/codec.ts";
import type { WsUnit } from "./ws-units.ts";

/** The node id a dialer's `hello` names, or undefined when `unit` is not a hello. */
export function helloSender(unit: WsUnit): string | undefined {
  if (unit.kind !== "data") return undefined;
  const payload = framePayload(unit.bytes);
  if (payload === undefined) return undefined;
  try {
    const first = decodePacket(payload)[0];
    return first?.kind === "hello" ? first.nodeId : undefined;
  } catch {
    return undefined;
  }
}

/** A well-formed hello from `nodeId` (for stand-in nodes; its auth is not checked by the proxy). */
export function helloPacket(nodeId: string, to: string): Uint8Array {
  return encodeFrame({ v: 1, kind: "hello", nodeId, clusterId: "chaos", to, nonce: new Uint8Array(32), auth: new Uint8Array(32) });
}

/** The unmasked payload of a single-frame WebSocket message (a hello is never fragmented). */
function framePayload(frame: Buffer): Uint8Array | undefined {
  if (frame.length < 2 || (frame[0]! & 0x80) === 0) return undefined;
  const masked = (frame[1]! & 0x80) !== 0;
  const len7 = frame[1]! & 0x7f;
  let offset = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
  const length = len7 === 126 ? frame.readUInt16BE(2) : len7 === 127 ? Number(frame.readBigUInt64BE(2)) : len7;
  const mask = masked ? frame.subarray(offset, offset + 4) : undefined;
  if (masked) offset += 4;
  if (frame.length !== offset + length) return undefined;
  const payload = Buffer.from(frame.subarray(offset));
  if (mask !== undefined) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ mask[i % 4]!;
  return payload;
}

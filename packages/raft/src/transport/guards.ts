/**
 * Validation of values decoded off the wire (STYLE.md practice 9). Every
 * reader takes `unknown` plus the path used in error messages, checks the
 * shape and returns a freshly built value, so nothing the peer sent beyond
 * the known fields (extra keys, prototypes, Buffer subclasses) reaches the
 * core. Failures throw FrameError and nothing else.
 */
import type {
  ConfState, Entry, EntryType, Message, NodeId, SnapshotMessage, SnapshotMeta,
} from "../core/types.ts";
import { MESSAGE_TYPES } from "../core/types.ts";
import { FrameError } from "./errors.ts";
import { CONF_MEMBERS_MAX, ID_LENGTH_MAX } from "./frames.ts";

/** A decoded map, indexable by field name. */
export type Fields = { readonly [key: string]: unknown };

const ENTRY_TYPES: ReadonlySet<string> = new Set<EntryType>(["normal", "noop", "conf"]);

/** True for a plain decoded map (not null, an array, bytes, or an extension object). */
export function isFields(v: unknown): v is Fields {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)
    && Object.getPrototypeOf(v) === Object.prototype;
}

/** Reads a map. */
export function readFields(v: unknown, path: string): Fields {
  if (!isFields(v)) throw new FrameError(path, "expected a map");
  return v;
}

/** Reads a non-negative safe integer (indexes, terms, offsets). */
export function readUint(v: unknown, path: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new FrameError(path, "expected a non-negative integer");
  }
  return v;
}

/** Reads a boolean. */
export function readBool(v: unknown, path: string): boolean {
  if (typeof v !== "boolean") throw new FrameError(path, "expected a boolean");
  return v;
}

/** Reads a node or cluster id: a non-empty string of at most ID_LENGTH_MAX units. */
export function readId(v: unknown, path: string): NodeId {
  if (typeof v !== "string" || v.length === 0 || v.length > ID_LENGTH_MAX) {
    throw new FrameError(path, `expected a string of 1..${ID_LENGTH_MAX} characters`);
  }
  return v;
}

/**
 * Reads bytes of `min..max` length. Returns a plain Uint8Array view over the
 * same memory (no copy): msgpackr hands out Buffer slices of the packet.
 */
export function readBytes(v: unknown, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new FrameError(path, "expected bytes");
  if (v.byteLength < min || v.byteLength > max) {
    throw new FrameError(path, `expected ${min}..${max} bytes, got ${v.byteLength}`);
  }
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function readIdList(v: unknown, path: string): NodeId[] {
  if (!Array.isArray(v) || v.length > CONF_MEMBERS_MAX) {
    throw new FrameError(path, `expected a list of at most ${CONF_MEMBERS_MAX} ids`);
  }
  return v.map((id: unknown, i) => readId(id, `${path}[${i}]`));
}

/** Reads a ConfState. */
export function readConfState(v: unknown, path: string): ConfState {
  const f = readFields(v, path);
  return { voters: readIdList(f["voters"], `${path}.voters`), learners: readIdList(f["learners"], `${path}.learners`) };
}

/** Reads SnapshotMeta. */
export function readSnapshotMeta(v: unknown, path: string): SnapshotMeta {
  const f = readFields(v, path);
  return {
    index: readUint(f["index"], `${path}.index`),
    term: readUint(f["term"], `${path}.term`),
    conf: readConfState(f["conf"], `${path}.conf`),
  };
}

/** Reads one log entry; index and term are ≥ 1 (types.ts invariant). */
export function readEntry(v: unknown, path: string): Entry {
  const f = readFields(v, path);
  const index = readUint(f["index"], `${path}.index`);
  const term = readUint(f["term"], `${path}.term`);
  if (index < 1 || term < 1) throw new FrameError(path, "entry index and term must be ≥ 1");
  const type = f["type"];
  if (typeof type !== "string" || !ENTRY_TYPES.has(type)) throw new FrameError(`${path}.type`, "unknown entry type");
  return { index, term, type: type as EntryType, data: readBytes(f["data"], `${path}.data`) };
}

function readEntries(v: unknown, path: string): Entry[] {
  if (!Array.isArray(v)) throw new FrameError(path, "expected a list of entries");
  return v.map((e: unknown, i) => readEntry(e, `${path}[${i}]`));
}

/** Reads any Raft message, dispatching on `type` (which must be in MESSAGE_TYPES). */
export function readMessage(v: unknown, path: string): Message {
  const f = readFields(v, path);
  const type = f["type"];
  if (typeof type !== "string" || !MESSAGE_TYPES.has(type as Message["type"])) {
    throw new FrameError(`${path}.type`, "unknown message type");
  }
  const base = {
    from: readId(f["from"], `${path}.from`),
    to: readId(f["to"], `${path}.to`),
    term: readUint(f["term"], `${path}.term`),
  };
  const u = (key: string): number => readUint(f[key], `${path}.${key}`);
  const b = (key: string): boolean => readBool(f[key], `${path}.${key}`);
  switch (type as Message["type"]) {
    case "app":
      return { ...base, type: "app", prevIndex: u("prevIndex"), prevTerm: u("prevTerm"),
        entries: readEntries(f["entries"], `${path}.entries`), commit: u("commit") };
    case "appResp":
      return { ...base, type: "appResp", reject: b("reject"), index: u("index"), hintIndex: u("hintIndex"), hintTerm: u("hintTerm") };
    case "vote":
    case "preVote":
      return { ...base, type: type as "vote" | "preVote", lastIndex: u("lastIndex"), lastTerm: u("lastTerm"), transfer: b("transfer") };
    case "voteResp":
    case "preVoteResp":
      return { ...base, type: type as "voteResp" | "preVoteResp", reject: b("reject") };
    case "heartbeat":
      return { ...base, type: "heartbeat", commit: u("commit"), readSeq: u("readSeq") };
    case "heartbeatResp":
      return { ...base, type: "heartbeatResp", readSeq: u("readSeq") };
    case "snap":
      return { ...base, type: "snap", snapshot: readSnapshotMeta(f["snapshot"], `${path}.snapshot`) };
    case "timeoutNow":
      return { ...base, type: "timeoutNow" };
    case "notMember":
      return { ...base, type: "notMember", confIndex: u("confIndex"), conf: readConfState(f["conf"], `${path}.conf`) };
  }
}

/** Reads a `snap` message (the payload of a snapOffer frame). */
export function readSnapshotMessage(v: unknown, path: string): SnapshotMessage {
  const m = readMessage(v, path);
  if (m.type !== "snap") throw new FrameError(`${path}.type`, "expected a snap message");
  return m;
}

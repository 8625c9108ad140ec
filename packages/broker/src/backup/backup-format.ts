/**
 * The backup file. It is the broker snapshot stream (store/snapshot-codec.ts:
 * the very bytes a Raft snapshot install moves between nodes) wrapped in a
 * header that says where and at which point it was taken, and a trailer that
 * checksums the whole file:
 *
 *   file    = record(header) ‖ snapshot stream ‖ record(trailer)
 *   record  = u32be length ‖ msgpack value (the snapshot codec's framing)
 *   header  = { format: "raftbus-backup", version: 1, clusterId, nodeId, createdAt,
 *               index, term, conf: { voters, learners }, clusterVersion, storeFormat, snapshotVersion }
 *   trailer = { end: "backup", bytes: <file bytes before the trailer>, sha256: <hex over those bytes> }
 *
 * The snapshot stream keeps its own header, pair records and trailer (count
 * and SHA-256 of the pairs), so a backup is restored by the same decoder a
 * follower uses. The file checksum adds what the snapshot's cannot see: a
 * damaged backup header, or bytes cut or added outside the pairs.
 */
import { createHash } from "node:crypto";
import type { Hash } from "node:crypto";
import { RaftbusError } from "@raftbus/client/protocol";
import { unpack } from "../msgpack.ts";
import { RecordReader, SNAPSHOT_VERSION, encodeRecord } from "../store/snapshot-codec.ts";
import { STORE_FORMAT } from "../store/format.ts";

/** First record of every backup file. */
export const BACKUP_FORMAT = "raftbus-backup";
/** Version of the backup file format. */
export const BACKUP_VERSION = 1;
/** Bytes of a record's length prefix (the snapshot codec's). */
const LENGTH_BYTES = 4;
/** Longest string field the header may carry (ids are short; this bounds hostile files). */
const HEADER_STRING_MAX = 1024;
/** Most members a header may list (a cluster is a handful of nodes). */
const HEADER_MEMBERS_MAX = 1024;

/** Where and at which point a backup was taken. */
export interface BackupHeader {
  /** The cluster it was taken from. */
  readonly clusterId: string;
  /** The node (the leader) that streamed it. */
  readonly nodeId: string;
  /** When the stream started, ms since the epoch (the node's clock). */
  readonly createdAt: number;
  /** The Raft index the state was applied up to: the backup holds exactly the state after entry `index`. */
  readonly index: number;
  /** The term of entry `index`. */
  readonly term: number;
  /** The Raft configuration in force at `index`. */
  readonly conf: { readonly voters: readonly string[]; readonly learners: readonly string[] };
  /** The replicated cluster version at `index`. */
  readonly clusterVersion: number;
  /** Broker store format of the pairs (store/format.ts). */
  readonly storeFormat: number;
  /** Version of the snapshot stream inside. */
  readonly snapshotVersion: number;
}

/** A backup file that cannot be read (stable code BACKUP_INVALID; UNSUPPORTED_VERSION for a newer format). */
export class BackupInvalidError extends RaftbusError {
  /** `what` says what is wrong with the file. */
  constructor(what: string, code: "BACKUP_INVALID" | "UNSUPPORTED_VERSION" = "BACKUP_INVALID", cause?: unknown) {
    super(code, `not a usable raftbus backup: ${what}`, cause !== undefined ? { cause } : {});
  }
}

/**
 * Writes a backup: the header, then the snapshot stream's bytes as they
 * come, then the trailer; keeps the running count and hash the trailer needs.
 */
export class BackupEncoder {
  private readonly hash: Hash = createHash("sha256");
  private bytes = 0;

  /** The header record. */
  header(h: BackupHeader): Uint8Array {
    return this.count(encodeRecord({ format: BACKUP_FORMAT, version: BACKUP_VERSION, ...h }));
  }

  /** Bytes of the snapshot stream, passed through (counted and hashed). */
  body(chunk: Uint8Array): Uint8Array {
    return this.count(chunk);
  }

  /** The trailer record; nothing may follow it. */
  trailer(): Uint8Array {
    return encodeRecord({ end: "backup", bytes: this.bytes, sha256: this.hash.digest("hex") });
  }

  private count(bytes: Uint8Array): Uint8Array {
    this.hash.update(bytes);
    this.bytes += bytes.byteLength;
    return bytes;
  }
}

/** What reading a backup found, besides the snapshot records it handed on. */
export interface BackupReadState {
  header: BackupHeader | undefined;
  /** File bytes read. */
  bytes: number;
  /** True once the trailer was read and its count and checksum matched. */
  complete: boolean;
}

/**
 * Reads a backup file's chunks and yields the raw records of the snapshot
 * stream inside (for decodeSnapshot or a restore), checking the header
 * first and the trailer's byte count and SHA-256 last. `state` receives the
 * header as soon as it is read. Throws BackupInvalidError on any problem;
 * records yielded before the problem must then be discarded.
 */
export async function* snapshotOfBackup(file: AsyncIterable<Uint8Array>, state: BackupReadState): AsyncGenerator<Uint8Array> {
  const reader = new RecordReader();
  const hash = createHash("sha256");
  let hashed = 0;
  let snapshotRecords = 0;
  let snapshotEnded = false;
  const take = (raw: Uint8Array): void => {
    hash.update(raw);
    hashed += raw.byteLength;
  };
  try {
    for await (const chunk of file) {
      state.bytes += chunk.byteLength;
      for (const raw of reader.push(chunk)) {
        if (state.complete) throw new BackupInvalidError("data after the trailer");
        if (state.header === undefined) {
          state.header = parseHeader(raw);
          take(raw);
        } else if (snapshotEnded) {
          checkTrailer(raw, hashed, hash.digest("hex"));
          state.complete = true;
        } else {
          take(raw);
          // The snapshot stream is a map (its header), arrays (pairs), then a map (its trailer).
          if (snapshotRecords > 0 && isMapRecord(raw)) snapshotEnded = true;
          snapshotRecords++;
          yield raw;
        }
      }
    }
    reader.finish();
  } catch (err) {
    if (err instanceof BackupInvalidError) throw err;
    throw new BackupInvalidError(err instanceof Error ? err.message : String(err), "BACKUP_INVALID", err);
  }
  if (state.header === undefined) throw new BackupInvalidError("the file is empty");
  if (!state.complete) throw new BackupInvalidError("the file ends before its trailer (truncated)");
}

/** True when the record's msgpack value is a map (fixmap, map16, map32). */
function isMapRecord(raw: Uint8Array): boolean {
  const first = raw[LENGTH_BYTES] ?? 0;
  return (first >= 0x80 && first <= 0x8f) || first === 0xde || first === 0xdf;
}

function valueOf(raw: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = unpack(raw.subarray(LENGTH_BYTES));
  } catch (err) {
    throw new BackupInvalidError(`the ${what} is not valid msgpack`, "BACKUP_INVALID", err);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new BackupInvalidError(`the ${what} is not a map`);
  return v as Record<string, unknown>;
}

const isNat = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isShortString = (v: unknown): v is string => typeof v === "string" && v.length <= HEADER_STRING_MAX;
const isIdList = (v: unknown): v is string[] => Array.isArray(v) && v.length <= HEADER_MEMBERS_MAX && v.every((s) => isShortString(s) && s.length > 0);

function parseHeader(raw: Uint8Array): BackupHeader {
  const h = valueOf(raw, "header");
  if (h["format"] !== BACKUP_FORMAT) throw new BackupInvalidError(`the file does not start with a ${BACKUP_FORMAT} header`);
  const version = h["version"];
  if (!isNat(version)) throw new BackupInvalidError("the header has no version");
  if (version > BACKUP_VERSION) throw new BackupInvalidError(`backup format version ${version}; this build reads version ${BACKUP_VERSION}: use a newer raftbus`, "UNSUPPORTED_VERSION");
  if (version < BACKUP_VERSION) throw new BackupInvalidError(`backup format version ${version} is not read by this build`, "UNSUPPORTED_VERSION");
  const conf = h["conf"] as Record<string, unknown> | null | undefined;
  const { clusterId, nodeId, createdAt, index, term, clusterVersion, storeFormat, snapshotVersion } = h;
  if (!isShortString(clusterId) || !isShortString(nodeId) || !isNat(createdAt) || !isNat(index) || !isNat(term) || !isNat(clusterVersion)
    || !isNat(storeFormat) || !isNat(snapshotVersion) || typeof conf !== "object" || conf === null || !isIdList(conf["voters"]) || !isIdList(conf["learners"])) {
    throw new BackupInvalidError("the header's fields are malformed");
  }
  if (storeFormat !== STORE_FORMAT) {
    throw new BackupInvalidError(`it holds broker store format ${storeFormat}; this build restores format ${STORE_FORMAT}${storeFormat > STORE_FORMAT ? ": use a newer raftbus" : ""}`, "UNSUPPORTED_VERSION");
  }
  if (snapshotVersion !== SNAPSHOT_VERSION) {
    throw new BackupInvalidError(`it holds snapshot stream version ${snapshotVersion}; this build reads version ${SNAPSHOT_VERSION}`, "UNSUPPORTED_VERSION");
  }
  return { clusterId, nodeId, createdAt, index, term, conf: { voters: conf["voters"], learners: conf["learners"] }, clusterVersion, storeFormat, snapshotVersion };
}

function checkTrailer(raw: Uint8Array, bytes: number, sha256: string): void {
  const t = valueOf(raw, "trailer");
  if (t["end"] !== "backup") throw new BackupInvalidError("the snapshot stream is not followed by the backup trailer");
  if (t["bytes"] !== bytes) throw new BackupInvalidError(`the trailer counts ${String(t["bytes"])} bytes, the file holds ${bytes} before it`);
  if (t["sha256"] !== sha256) throw new BackupInvalidError("the file's SHA-256 does not match its trailer (damaged)");
}

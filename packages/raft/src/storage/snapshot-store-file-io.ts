/**
 * File-level pieces of FileSnapshotStore: file names, reading a snapshot
 * file back with verification, scanning a partial receive to resume it,
 * and the durable-rename dance (fsync file, rename, fsync directory) that
 * makes a complete file appear atomically.
 */
import type { FileHandle } from "node:fs/promises";
import { open, rename } from "node:fs/promises";
import * as path from "node:path";
import type { SnapshotMeta } from "../core/types.ts";
import { StorageCorruptError, StorageNotFoundError, wrapIo } from "./errors.ts";
import type { Frame, FrameWriter } from "./snapshot-store-frame.ts";
import { FrameKind, FrameReader, decodeMeta, decodeTrailer } from "./snapshot-store-frame.ts";
import { sameSnapshot } from "./snapshot-store.ts";

/** Zero-padded so that names sort by index. */
function pad(index: number): string {
  return String(index).padStart(16, "0");
}

/** Name of the complete snapshot file for `index`. */
export function snapName(index: number): string {
  return `snap-${pad(index)}.snap`;
}

/** Name of a save in progress; `n` keeps concurrent saves apart. Leftovers are deleted at load. */
export function tmpName(index: number, n: number): string {
  return `snap-${pad(index)}.${n}.tmp`;
}

/** Name of a partial receive, kept across restarts so it can resume. */
export function partName(meta: SnapshotMeta): string {
  return `recv-${pad(meta.index)}-${meta.term}.part`;
}

/** What a directory entry is, by name. */
export type FileKind =
  | { readonly kind: "snap"; readonly index: number }
  | { readonly kind: "tmp" }
  | { readonly kind: "part"; readonly index: number }
  | { readonly kind: "other" };

/** Classifies a file name of the snapshot directory. */
export function classify(name: string): FileKind {
  const snap = /^snap-(\d{16})\.snap$/.exec(name);
  if (snap) return { kind: "snap", index: Number(snap[1]) };
  if (/^snap-\d{16}\.\d+\.tmp$/.test(name)) return { kind: "tmp" };
  const part = /^recv-(\d{16})-\d+\.part$/.exec(name);
  if (part) return { kind: "part", index: Number(part[1]) };
  return { kind: "other" };
}

/** True when `err` is a file-system "no such file" error. */
export function isNotFound(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "ENOENT";
}

/** fsync a directory so a rename or unlink in it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, "r");
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Ends `writer`'s file (END frame + fsync), closes it, renames it to `final`, fsyncs the directory. */
export async function finishFile(handle: FileHandle, writer: FrameWriter, from: string, final: string): Promise<void> {
  try {
    await writer.end();
  } finally {
    await handle.close();
  }
  await rename(from, final);
  await fsyncDir(path.dirname(final));
}

/** Reads the META frame of a complete snapshot file. */
export async function readHeader(file: string, chunkBytesMax: number): Promise<SnapshotMeta> {
  const handle = await open(file, "r");
  try {
    const r = new FrameReader(handle, file, chunkBytesMax);
    await r.readMagic();
    const f = await r.next();
    if (f?.kind !== FrameKind.Meta) throw r.corrupt("first frame is not META");
    return decodeMeta(f.payload, file);
  } finally {
    await handle.close();
  }
}

/**
 * Streams the data of a complete snapshot file, verifying every frame, the
 * metadata against `expected`, and the END trailer against what was read.
 */
export async function* readSnapshotFile(file: string, expected: SnapshotMeta, chunkBytesMax: number): AsyncGenerator<Uint8Array> {
  let handle: FileHandle;
  try {
    handle = await open(file, "r");
  } catch (err) {
    if (isNotFound(err)) throw new StorageNotFoundError(`snapshot ${expected.index}`);
    throw wrapIo(`opening ${file}`, err);
  }
  try {
    const r = new FrameReader(handle, file, chunkBytesMax);
    await r.readMagic();
    const head = await r.next();
    if (head?.kind !== FrameKind.Meta) throw r.corrupt("first frame is not META");
    if (!sameSnapshot(decodeMeta(head.payload, file), expected)) throw r.corrupt(`metadata is not snapshot ${expected.index}/${expected.term}`);
    yield* readData(r, file);
  } catch (err) {
    throw wrapIo(`reading ${file}`, err);
  } finally {
    await handle.close();
  }
}

async function* readData(r: FrameReader, file: string): AsyncGenerator<Uint8Array> {
  let chunks = 0;
  let bytes = 0;
  for (;;) {
    const f = await r.next();
    if (f === undefined) throw r.corrupt("no END frame (file truncated)");
    if (f.kind === FrameKind.Data) {
      chunks++;
      bytes += f.payload.length;
      yield f.payload;
      continue;
    }
    if (f.kind !== FrameKind.End) throw r.corrupt("unexpected META frame");
    const t = decodeTrailer(f.payload, file);
    if (t.chunks !== chunks || t.bytes !== bytes) {
      throw r.corrupt(`END says ${t.chunks} chunks/${t.bytes} bytes but ${chunks}/${bytes} were read`);
    }
    if ((await r.next()) !== undefined) throw r.corrupt("data after END frame");
    return;
  }
}

/** Where a partial receive can continue: file offset after its last good DATA frame, and counts. */
export interface PartialScan {
  readonly position: number;
  readonly chunks: number;
  readonly bytes: number;
}

/**
 * Scans a partial receive. A partial file is not committed data: its tail
 * may be torn by a crash, so it is cut at the first frame that fails
 * verification and the sender resends from there. Undefined when there is
 * no usable file (missing, or its header is not this snapshot's).
 */
export async function scanPartial(file: string, meta: SnapshotMeta, chunkBytesMax: number): Promise<PartialScan | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, "r");
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  try {
    const r = new FrameReader(handle, file, chunkBytesMax);
    if (!(await readsAs(r, meta))) return undefined;
    let chunks = 0;
    let bytes = 0;
    let position = r.position;
    for (let f = await nextOrTorn(r); f?.kind === FrameKind.Data; f = await nextOrTorn(r)) {
      chunks++;
      bytes += f.payload.length;
      position = r.position;
    }
    return { position, chunks, bytes };
  } finally {
    await handle.close();
  }
}

/** Whether the file starts with the magic and META of `meta`. */
async function readsAs(r: FrameReader, meta: SnapshotMeta): Promise<boolean> {
  try {
    await r.readMagic();
    const head = await r.next();
    return head?.kind === FrameKind.Meta && sameSnapshot(decodeMeta(head.payload, "partial"), meta);
  } catch (err) {
    if (err instanceof StorageCorruptError) return false;
    throw err;
  }
}

/** The next frame, or undefined at end of file or at a torn/damaged frame. */
async function nextOrTorn(r: FrameReader): Promise<Frame | undefined> {
  try {
    return await r.next();
  } catch (err) {
    if (err instanceof StorageCorruptError) return undefined;
    throw err;
  }
}

/**
 * Snapshots as files in a directory, one per index (`snap-<index>.snap`).
 * A snapshot appears only complete and durable: it is written to a temp
 * file (each chunk length+CRC framed), fsync'd, renamed into place, and the
 * directory fsync'd. Reading it back verifies every frame; damage throws
 * StorageCorruptError instead of handing bad bytes to a state machine.
 */
import { mkdir, open, readdir, rm } from "node:fs/promises";
import * as path from "node:path";
import type { SnapshotMeta } from "../core/types.ts";
import { StorageCorruptError, StorageNotFoundError, wrapIo } from "./errors.ts";
import { classify, finishFile, readHeader, readSnapshotFile, snapName, tmpName } from "./snapshot-store-file-io.ts";
import { FileReceiver } from "./snapshot-store-file-receive.ts";
import { FrameWriter } from "./snapshot-store-frame.ts";
import type { SnapshotReceiver, SnapshotStore, SnapshotStoreLimits } from "./snapshot-store.ts";
import { DEFAULT_SNAPSHOT_LIMITS, sameSnapshot, splitChunk } from "./snapshot-store.ts";

/** A directory of snapshot files. */
export class FileSnapshotStore implements SnapshotStore {
  /** Distinguishes temp files of concurrent saves. */
  private saves = 0;
  private receiving: FileReceiver | undefined;

  private constructor(
    /** The directory holding the snapshot files. */
    readonly dir: string,
    private readonly limits: SnapshotStoreLimits,
    /** Complete snapshots by index, read from their headers at load. */
    private readonly metas: Map<number, SnapshotMeta>,
  ) {}

  /**
   * Opens (creating if needed) the store in `dir`: indexes complete
   * snapshots by their headers (STORAGE_CORRUPT if one is unreadable),
   * deletes temp files of interrupted saves, keeps partial receives.
   */
  static async load(dir: string, limits: Partial<SnapshotStoreLimits> = {}): Promise<FileSnapshotStore> {
    const full = { ...DEFAULT_SNAPSHOT_LIMITS, ...limits };
    const metas = new Map<number, SnapshotMeta>();
    try {
      await mkdir(dir, { recursive: true });
      for (const name of await readdir(dir)) {
        const k = classify(name);
        if (k.kind === "tmp") await rm(path.join(dir, name), { force: true });
        if (k.kind !== "snap") continue;
        const meta = await readHeader(path.join(dir, name), full.chunkBytesMax);
        if (meta.index !== k.index) throw new StorageCorruptError(name, `holds snapshot ${meta.index}, not ${k.index}`);
        metas.set(k.index, meta);
      }
    } catch (err) {
      throw wrapIo(`loading snapshot directory ${dir}`, err);
    }
    return new FileSnapshotStore(dir, full, metas);
  }

  /** @inheritDoc */
  async save(meta: SnapshotMeta, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const tmp = path.join(this.dir, tmpName(meta.index, this.saves++));
    try {
      const handle = await open(tmp, "wx");
      const writer = new FrameWriter(handle, 0);
      try {
        await writer.begin(meta);
        for await (const chunk of chunks) {
          for (const piece of splitChunk(chunk, this.limits.chunkBytesMax)) await writer.data(piece);
        }
      } catch (err) {
        await handle.close();
        throw err;
      }
      await finishFile(handle, writer, tmp, path.join(this.dir, snapName(meta.index)));
    } catch (err) {
      await rm(tmp, { force: true });
      throw wrapIo(`saving snapshot ${meta.index} to ${this.dir}`, err);
    }
    this.metas.set(meta.index, meta);
  }

  /** @inheritDoc */
  open(index: number): AsyncIterable<Uint8Array> {
    const meta = this.metas.get(index);
    if (meta === undefined) throw new StorageNotFoundError(`snapshot ${index}`);
    return readSnapshotFile(path.join(this.dir, snapName(index)), meta, this.limits.chunkBytesMax);
  }

  /** @inheritDoc */
  latest(): SnapshotMeta | undefined {
    let best: SnapshotMeta | undefined;
    for (const meta of this.metas.values()) if (best === undefined || meta.index > best.index) best = meta;
    return best;
  }

  /** @inheritDoc */
  async prune(keepIndex: number): Promise<void> {
    const keep = Math.min(keepIndex, this.latest()?.index ?? keepIndex);
    if (this.receiving !== undefined && this.receiving.meta.index < keep) await this.receiving.abort();
    try {
      for (const name of await readdir(this.dir)) {
        const k = classify(name);
        if ((k.kind === "snap" || k.kind === "part") && k.index < keep) {
          this.metas.delete(k.index);
          await rm(path.join(this.dir, name), { force: true });
        }
      }
    } catch (err) {
      throw wrapIo(`pruning snapshots below ${keep} in ${this.dir}`, err);
    }
  }

  /** @inheritDoc */
  async beginReceive(meta: SnapshotMeta): Promise<SnapshotReceiver> {
    const current = this.receiving;
    if (current !== undefined && sameSnapshot(current.meta, meta)) return current;
    if (current !== undefined) await current.abort();
    const receiver = await FileReceiver.begin(this.dir, meta, this.limits.chunkBytesMax, (r, committed) => {
      if (committed) this.metas.set(r.meta.index, r.meta);
      if (this.receiving === r) this.receiving = undefined;
    });
    this.receiving = receiver;
    return receiver;
  }

  /** Releases the receive in progress, keeping its partial file so it resumes after a restart. */
  async close(): Promise<void> {
    await this.receiving?.release();
  }
}

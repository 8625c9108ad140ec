/**
 * Receiving a snapshot into a file, chunk by chunk, resumable. Data goes to
 * `recv-<index>-<term>.part` in the same frame format as a complete file;
 * commit() appends END, fsyncs and renames it into place. The partial file
 * survives a broken connection and a restart: beginReceive finds it, cuts
 * any torn tail and reports how many bytes it holds.
 */
import type { FileHandle } from "node:fs/promises";
import { open, rm } from "node:fs/promises";
import * as path from "node:path";
import type { SnapshotMeta } from "../core/types.ts";
import { StorageClosedError, wrapIo } from "./errors.ts";
import { finishFile, partName, scanPartial, snapName } from "./snapshot-store-file-io.ts";
import { FrameWriter } from "./snapshot-store-frame.ts";
import type { SnapshotReceiver } from "./snapshot-store.ts";
import { Serial, newPart, splitChunk } from "./snapshot-store.ts";

/** How a receive ended: committed (the snapshot is now stored) or not. */
export type ReceiveEnd = (r: FileReceiver, committed: boolean) => void;

/** A receive in progress into a partial file. */
export class FileReceiver implements SnapshotReceiver {
  private readonly serial = new Serial();
  private done = false;

  private constructor(
    readonly meta: SnapshotMeta,
    private readonly dir: string,
    private readonly handle: FileHandle,
    private readonly writer: FrameWriter,
    private readonly chunkBytesMax: number,
    private readonly onEnd: ReceiveEnd,
  ) {}

  /** Opens the partial file for `meta` in `dir`, resuming after its last good frame if there is one. */
  static async begin(dir: string, meta: SnapshotMeta, chunkBytesMax: number, onEnd: ReceiveEnd): Promise<FileReceiver> {
    const file = path.join(dir, partName(meta));
    try {
      const scan = await scanPartial(file, meta, chunkBytesMax);
      const handle = await open(file, scan ? "r+" : "w+");
      const writer = new FrameWriter(handle, scan?.position ?? 0);
      if (scan) {
        await handle.truncate(scan.position);
        writer.chunks = scan.chunks;
        writer.bytes = scan.bytes;
      } else {
        await writer.begin(meta);
      }
      return new FileReceiver(meta, dir, handle, writer, chunkBytesMax, onEnd);
    } catch (err) {
      throw wrapIo(`starting receive of snapshot ${meta.index} into ${file}`, err);
    }
  }

  /** @inheritDoc */
  get receivedBytes(): number {
    return this.writer.bytes;
  }

  /** @inheritDoc */
  write(chunk: Uint8Array, offset: number): Promise<void> {
    return this.step("write", async () => {
      const part = newPart(this.writer.bytes, chunk, offset);
      for (const piece of splitChunk(part, this.chunkBytesMax)) await this.writer.data(piece);
    });
  }

  /** @inheritDoc */
  commit(): Promise<void> {
    return this.step("commit", async () => {
      this.done = true;
      let committed = false;
      try {
        await finishFile(this.handle, this.writer, this.file(), path.join(this.dir, snapName(this.meta.index)));
        committed = true;
      } finally {
        this.onEnd(this, committed);
      }
    });
  }

  /** @inheritDoc */
  abort(): Promise<void> {
    return this.end(async () => {
      await this.handle.close();
      await rm(this.file(), { force: true });
    });
  }

  /** Closes the file but keeps it, so a later beginReceive (even after a restart) resumes it. */
  release(): Promise<void> {
    return this.end(() => this.handle.close());
  }

  private end(fn: () => Promise<void>): Promise<void> {
    return this.serial.run(async () => {
      if (this.done) return;
      this.done = true;
      try {
        await fn();
      } catch (err) {
        throw wrapIo(`closing receive of snapshot ${this.meta.index}`, err);
      } finally {
        this.onEnd(this, false);
      }
    });
  }

  private step(op: string, fn: () => Promise<void>): Promise<void> {
    return this.serial.run(async () => {
      if (this.done) throw new StorageClosedError(`receive of snapshot ${this.meta.index}`);
      try {
        await fn();
      } catch (err) {
        throw wrapIo(`${op} of snapshot ${this.meta.index} into ${this.file()}`, err);
      }
    });
  }

  private file(): string {
    return path.join(this.dir, partName(this.meta));
  }
}

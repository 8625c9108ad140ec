/**
 * The broker's volume on disk: `<dir>/CURRENT` names the live database
 * directory `<dir>/state-<n>` (classic-level). CURRENT is replaced with the
 * write-temp, fsync, rename, fsync-directory dance, so it always names a
 * complete generation.
 */
import { mkdir, open as openFile, readFile, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { Level } from "level";
import { assert } from "../raft-api.ts";
import type { BinaryDb, StoreVolume } from "./volume.ts";
import { CHECKED_VALUES } from "./checksum.ts";

const CURRENT = "CURRENT";
const STATE_DIR_RE = /^state-(\d+)$/;

/** Generations as LevelDB directories under one directory. */
export class DirectoryVolume implements StoreVolume {
  /** `dir` is created on first use. */
  constructor(readonly dir: string) {}

  /** {@inheritDoc StoreVolume.label} */
  get label(): string {
    return this.dir;
  }

  /** {@inheritDoc StoreVolume.readCurrent} */
  async readCurrent(): Promise<number | undefined> {
    await mkdir(this.dir, { recursive: true });
    let text: string;
    try {
      text = await readFile(join(this.dir, CURRENT), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    const m = STATE_DIR_RE.exec(text.trim());
    assert(m !== null, () => `${join(this.dir, CURRENT)} is corrupt: ${JSON.stringify(text.slice(0, 40))}`);
    return Number(m[1]);
  }

  /** {@inheritDoc StoreVolume.writeCurrent} Write a temp file, fsync, rename, fsync the directory. */
  async writeCurrent(generation: number): Promise<void> {
    const tmp = join(this.dir, `${CURRENT}.tmp`);
    const fh = await openFile(tmp, "w");
    try {
      await fh.writeFile(`${stateDirName(generation)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.dir, CURRENT));
    const dh = await openFile(this.dir, "r");
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }

  /** {@inheritDoc StoreVolume.generations} */
  async generations(): Promise<number[]> {
    const out: number[] = [];
    for (const name of await readdir(this.dir)) {
      const m = STATE_DIR_RE.exec(name);
      if (m !== null) out.push(Number(m[1]));
    }
    return out;
  }

  /** {@inheritDoc StoreVolume.open} */
  async open(generation: number): Promise<BinaryDb> {
    const db = new Level<Uint8Array, Uint8Array>(join(this.dir, stateDirName(generation)), { keyEncoding: "view", valueEncoding: CHECKED_VALUES });
    await db.open();
    return db;
  }

  /** {@inheritDoc StoreVolume.remove} */
  async remove(generation: number): Promise<void> {
    await rm(join(this.dir, stateDirName(generation)), { recursive: true, force: true });
  }
}

function stateDirName(generation: number): string {
  return `state-${generation}`;
}

/**
 * The backups a node is streaming to clients (`backup.open/read/close`).
 * Each one holds a pinned LevelDB snapshot (the broker's, taken between two
 * applies) and reads it only as fast as its client asks: one `read` pulls
 * the next piece, so the node holds at most one snapshot record (about
 * 256 KiB, or one large message) per open backup, whatever the store's size.
 *
 * Limits: BACKUPS_OPEN_MAX open at once per node (each pins old LevelDB
 * files on disk until it ends); a backup not read for BACKUP_IDLE_MS is
 * closed, and so is every backup of a connection that closes.
 */
import { BACKUP_READ_BYTES_MAX, RaftbusError } from "@raftbus/client/protocol";
import { BackupEncoder } from "./backup-format.ts";
import type { BackupHeader } from "./backup-format.ts";

/** Backups a node streams at once. */
export const BACKUPS_OPEN_MAX = 2;
/** A backup nobody read for this long is closed (its client went away without closing it). */
export const BACKUP_IDLE_MS = 60_000;

/** The bytes of a backup file: header, the snapshot stream as it comes, trailer. */
async function* backupFile(header: BackupHeader, snapshot: AsyncIterator<Uint8Array>, first: IteratorResult<Uint8Array>): AsyncGenerator<Uint8Array> {
  const encoder = new BackupEncoder();
  yield encoder.header(header);
  for (let r = first; r.done !== true; r = await snapshot.next()) yield encoder.body(r.value);
  yield encoder.trailer();
}

/**
 * Starts the snapshot stream at once: the broker's stream releases its
 * LevelDB snapshot in a `finally`, which runs only for a generator that has
 * started, so a backup closed before its first read must not leave it unstarted.
 */
async function started(snapshot: AsyncIterable<Uint8Array>): Promise<{ it: AsyncIterator<Uint8Array>; first: IteratorResult<Uint8Array> }> {
  const it = snapshot[Symbol.asyncIterator]();
  return { it, first: await it.next() };
}

/** One open backup. */
class OpenBackup {
  /** Bytes of the current record not sent yet. */
  private leftover: Uint8Array = new Uint8Array(0);
  private sent = 0;
  private finished = false;
  /** Reads of one backup run one after another. */
  private tail: Promise<unknown> = Promise.resolve();
  timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly id: string,
    readonly owner: string,
    private readonly file: AsyncGenerator<Uint8Array>,
    /** Ends the snapshot stream underneath (releases its LevelDB snapshot). */
    private readonly release: () => Promise<unknown>,
  ) {}

  /** The next piece of at most `maxBytes`. */
  read(maxBytes: number): Promise<{ data: Uint8Array; bytes: number; done: boolean }> {
    const run = this.tail.then(() => this.next(maxBytes));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async next(maxBytes: number): Promise<{ data: Uint8Array; bytes: number; done: boolean }> {
    const pieces: Uint8Array[] = [];
    let size = 0;
    while (size < maxBytes && !this.finished) {
      if (this.leftover.byteLength === 0) {
        const r = await this.file.next();
        if (r.done === true) {
          this.finished = true;
          break;
        }
        this.leftover = r.value;
        continue;
      }
      const take = Math.min(this.leftover.byteLength, maxBytes - size);
      pieces.push(this.leftover.subarray(0, take));
      this.leftover = this.leftover.subarray(take);
      size += take;
    }
    this.sent += size;
    const data = pieces.length === 1 ? (pieces[0] as Uint8Array) : Buffer.concat(pieces);
    return { data, bytes: this.sent, done: this.finished && this.leftover.byteLength === 0 };
  }

  /** Ends the stream: the generator's finally releases the LevelDB iterator and snapshot. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.tail;
    await this.file.return(undefined);
    await this.release();
  }
}

/** The node's open backups; see the module comment. */
export class BackupStreams {
  private readonly open = new Map<string, OpenBackup>();
  private nextId = 1;

  constructor(private readonly limits: { readonly openMax: number; readonly idleMs: number } = { openMax: BACKUPS_OPEN_MAX, idleMs: BACKUP_IDLE_MS }) {}

  /** Open backups right now. */
  get size(): number {
    return this.open.size;
  }

  /**
   * Starts streaming a backup for connection `owner`; `start` takes the
   * snapshot and is called only when a slot is free.
   * @throws RaftbusError LIMIT_EXCEEDED when BACKUPS_OPEN_MAX are open.
   */
  async start(owner: string, start: () => Promise<{ header: BackupHeader; snapshot: AsyncIterable<Uint8Array> }>): Promise<string> {
    if (this.open.size >= this.limits.openMax) {
      throw new RaftbusError("LIMIT_EXCEEDED", `${this.open.size} backups are being streamed by this node already (at most ${this.limits.openMax}); wait for one to finish`, {
        details: { limit: "backupsOpenMax", max: this.limits.openMax },
      });
    }
    const id = `b${this.nextId++}`;
    // Reserve the slot before the await, so two opens cannot both pass the check.
    const placeholder = new OpenBackup(id, owner, (async function* none(): AsyncGenerator<Uint8Array> {})(), async () => undefined);
    this.open.set(id, placeholder);
    try {
      const { header, snapshot } = await start();
      const { it, first } = await started(snapshot);
      const backup = new OpenBackup(id, owner, backupFile(header, it, first), async () => it.return?.(undefined));
      this.open.set(id, backup);
      this.touch(backup);
      return id;
    } catch (err) {
      this.open.delete(id);
      throw err;
    }
  }

  /** The next piece of backup `id` (of `owner`); closes it after its last piece. @throws RaftbusError BACKUP_NOT_FOUND */
  async read(owner: string, id: string, maxBytes = BACKUP_READ_BYTES_MAX): Promise<{ data: Uint8Array; bytes: number; done: boolean }> {
    const backup = this.find(owner, id);
    clearTimeout(backup.timer);
    let piece;
    try {
      piece = await backup.read(Math.min(maxBytes, BACKUP_READ_BYTES_MAX));
    } catch (err) {
      await this.close(owner, id);
      throw err;
    }
    if (piece.done) await this.close(owner, id);
    else this.touch(backup);
    return piece;
  }

  /** Closes backup `id` of `owner` (nothing when it is not open). */
  async close(owner: string, id: string): Promise<void> {
    const backup = this.open.get(id);
    if (backup === undefined || backup.owner !== owner) return;
    this.open.delete(id);
    await backup.close();
  }

  /** Closes every backup of `owner` (its connection closed). */
  async closeOwner(owner: string): Promise<void> {
    for (const b of [...this.open.values()]) if (b.owner === owner) await this.close(owner, b.id);
  }

  /** Closes every backup (the node stops). */
  async closeAll(): Promise<void> {
    for (const b of [...this.open.values()]) await this.close(b.owner, b.id);
  }

  private find(owner: string, id: string): OpenBackup {
    const backup = this.open.get(id);
    if (backup === undefined || backup.owner !== owner) {
      throw new RaftbusError("BACKUP_NOT_FOUND", `no backup ${id} is open on this node for this connection (finished, closed after ${this.limits.idleMs} ms without a read, or the connection changed); start it again`);
    }
    return backup;
  }

  private touch(backup: OpenBackup): void {
    clearTimeout(backup.timer);
    backup.timer = setTimeout(() => void this.close(backup.owner, backup.id), this.limits.idleMs);
    backup.timer.unref();
  }
}

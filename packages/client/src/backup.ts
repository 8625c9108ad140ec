/**
 * `client.backup`: stream a consistent backup of the cluster's state
 * (docs/OPERATIONS.md §6). The backup is pulled piece by piece: the next
 * piece is asked for only once the caller is done with the last one, so a
 * slow writer slows the stream and neither side buffers the whole store.
 */
import type { AdminOptions } from "./admin.ts";
import type { BackupOpenResponse, BackupReadResponse } from "./protocol/index.ts";
import type { Session } from "./session.ts";

function opts(options: AdminOptions): { idempotent: boolean; timeoutMs?: number } {
  // Not idempotent: a read moves the server's position, so a resend would skip a piece.
  return { idempotent: false, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) };
}

/** `client.backup`. */
export class BackupApi {
  readonly #session: Session;
  /** Used by the client. */
  constructor(session: Session) {
    this.#session = session;
  }

  /** Pin a consistent point of the leader's state and start a backup of it. */
  open(options: AdminOptions = {}): Promise<BackupOpenResponse> {
    return this.#session.request("backup.open", {}, opts(options));
  }

  /** The next piece of an open backup. @throws RaftbusError BACKUP_NOT_FOUND when the node no longer holds it. */
  read(backupId: string, options: AdminOptions & { readonly maxBytes?: number } = {}): Promise<BackupReadResponse> {
    return this.#session.request("backup.read", { backupId, ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}) }, opts(options));
  }

  /** Release an open backup before its end. */
  async close(backupId: string, options: AdminOptions = {}): Promise<void> {
    await this.#session.request("backup.close", { backupId }, opts(options));
  }

  /**
   * Open a backup and yield the file's bytes piece by piece, each asked for
   * after the loop body handled the one before. `onOpen` learns the point
   * the backup holds before the first piece. Breaking out of the loop
   * releases the backup on the server.
   */
  async *stream(options: AdminOptions & { readonly maxBytes?: number; readonly onOpen?: (info: BackupOpenResponse) => void } = {}): AsyncGenerator<Uint8Array> {
    const info = await this.open(options);
    options.onOpen?.(info);
    let done = false;
    try {
      while (!done) {
        const piece = await this.read(info.backupId, options);
        done = piece.done;
        if (piece.data.byteLength > 0) yield piece.data;
      }
    } finally {
      if (!done) await this.close(info.backupId, options).catch(() => undefined);
    }
  }
}

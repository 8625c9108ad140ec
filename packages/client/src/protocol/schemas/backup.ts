/**
 * Body group: backups (docs/OPERATIONS.md §6). A backup is pulled, not
 * pushed: `backup.open` pins a consistent point of the leader's state,
 * each `backup.read` returns the next piece of the backup file, and the
 * client asks for the next piece only when it has written the last one, so
 * a slow disk on the client side slows the stream instead of filling the
 * server's memory.
 */
import { bool, bytes, Empty, nat, nonEmptyStr, opt, pos, shape } from "./wire.ts";

/** Largest piece one `backup.read` returns (well inside the 4 MiB frame limit). */
export const BACKUP_READ_BYTES_MAX = 1024 * 1024;

/** `backup.open` response: the point the backup holds. */
export const BackupOpenResponse = shape("BackupOpenResponse", {
  backupId: nonEmptyStr("names the open backup in backup.read and backup.close (on this node, for this connection)"),
  nodeId: nonEmptyStr("the node streaming it (the leader when it opened)"),
  index: nat("the backup holds exactly the state after this Raft index"),
  term: nat("the term of that entry"),
  topics: nat("topics in the backup"),
  messages: nat("retained messages in the backup"),
  messageBytes: nat("their payload and header bytes: about the size of the file, which adds keys, offsets and subscriptions"),
});

/** `backup.read`: the next piece of the file. */
export const BackupReadRequest = shape("BackupReadRequest", {
  backupId: nonEmptyStr("from backup.open"),
  maxBytes: opt(pos(`largest piece wanted (default and cap ${BACKUP_READ_BYTES_MAX})`)),
});

/** `backup.read` response. */
export const BackupReadResponse = shape("BackupReadResponse", {
  data: bytes("the next bytes of the backup file (empty only when done)"),
  bytes: nat("file bytes sent so far, this piece included"),
  done: bool("true with the file's last piece: the backup is closed on the server"),
});

/** `backup.close`: release an open backup early (it is released by itself at its end, or when the connection closes or stays idle). */
export const BackupCloseRequest = shape("BackupCloseRequest", { backupId: nonEmptyStr("from backup.open") });

/** The request kinds of this group. */
export const backupKinds = {
  "backup.open": { request: Empty, response: BackupOpenResponse, servedBy: "leader" },
  // A backup already open is streamed by the node holding it, leader or not: its point is pinned.
  "backup.read": { request: BackupReadRequest, response: BackupReadResponse, servedBy: "any" },
  "backup.close": { request: BackupCloseRequest, response: Empty, servedBy: "any" },
} as const;

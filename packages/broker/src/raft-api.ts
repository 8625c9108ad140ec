/**
 * The one place the broker imports the Raft package from: the application
 * interface it implements (StateMachine, Entry, SnapshotMeta), the shared
 * always-on assert() (STYLE.md practice 3), and the storage error and
 * checksum its records share with the Raft log.
 */
export type { ConfChange, Entry, SnapshotMeta, StateMachine } from "@raftbus/raft";
export { decodeConfEntry } from "@raftbus/raft";
export { assert, InvariantError, StorageCorruptError, StorageError, StorageTooNewError, crc32 } from "@raftbus/raft";

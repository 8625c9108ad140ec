/**
 * The one place the broker imports the Raft package from: the application
 * interface it implements (StateMachine, Entry, SnapshotMeta) and the shared
 * always-on assert() (STYLE.md practice 3).
 */
export type { Entry, SnapshotMeta, StateMachine } from "@raftbus/raft";
export { assert, InvariantError } from "@raftbus/raft";

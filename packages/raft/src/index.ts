/** @raftbus/raft: the Raft core, its storage, driver and peer transport. */
export * from "./core/index.ts";
export * from "./storage/memory-storage.ts";
export type { StateMachine } from "./node/state-machine.ts";

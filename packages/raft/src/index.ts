/** @raftbus/raft: the Raft core, its storage, driver and peer transport. */
export * from "./core/index.ts";
export * from "./storage/memory-storage.ts";
export * from "./storage/level-storage.ts";
export * from "./storage/snapshot-store.ts";
export * from "./storage/snapshot-store-file.ts";
export * from "./storage/snapshot-store-memory.ts";
export * from "./storage/errors.ts";
export * from "./transport/transport.ts";
export * from "./transport/ws-transport.ts";
export type { WsTransportOptions } from "./transport/ws-options.ts";
export * from "./node/errors.ts";
export * from "./node/raft-node.ts";
export * from "./node/scheduler.ts";
export * from "./node/snapshot-wiring.ts";
export * from "./node/message-order.ts";
export type { StateMachine } from "./node/state-machine.ts";
export * from "./logging.ts";
export { crc32 } from "./storage/checksum.ts";

/** The pure Raft core: no I/O, no clock, no ambient randomness. */
export * from "./assert.ts";
export * from "./config.ts";
export * from "./log.ts";
export * from "./membership.ts";
export * from "./progress.ts";
export * from "./quorum.ts";
export * from "./rand.ts";
export * from "./raft.ts";
export * from "./read-only.ts";
export * from "./storage.ts";
export * from "./types.ts";

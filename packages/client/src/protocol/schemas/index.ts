/**
 * Every wire schema (TypeBox, i.e. JSON Schema with TypeScript types), by
 * group. The request table that ties bodies to kinds is requests.ts.
 */
export * from "./wire.ts";
export * from "./reads.ts";
export * from "./messages.ts";
export * from "./frames.ts";
export * from "./publish.ts";
export * from "./subscriptions.ts";
export * from "./topics.ts";
export * from "./dlq.ts";
export * from "./admin.ts";
export * from "./cluster.ts";
export * from "./sys.ts";
export * from "./backup.ts";
export * from "./keys.ts";

/**
 * The protocol vocabulary shared by the raftbus server and SDK: messages,
 * errors, frames, request/response bodies and the frame codec. Pure: nothing
 * here opens a socket or reads a clock.
 */
export * from "./errors.ts";
export * from "./message.ts";
export * from "./limits.ts";
export * from "./requests.ts";
export * from "./frames.ts";
export * from "./codec.ts";
export { requestSchemas, responseSchemas, errorInfoSchema, publishMessageSchema, storedMessageSchema, deliverySchema } from "./validate.ts";
export { conforms, type Schema } from "./schema.ts";

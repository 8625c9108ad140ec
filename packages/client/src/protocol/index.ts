/**
 * The protocol vocabulary shared by the raftbus server and SDK: messages,
 * errors, frames, request/response bodies, their wire schemas and the frame
 * codec. Pure: nothing here opens a socket or reads a clock.
 */
export * from "./errors.ts";
export * from "./message.ts";
export * from "./limits.ts";
export * from "./requests.ts";
export * from "./frames.ts";
export * from "./codec.ts";
export { checkOf, conforms, type Check } from "./validate.ts";
export * as schemas from "./schemas/index.ts";
export { BACKUP_READ_BYTES_MAX } from "./schemas/backup.ts";
export * from "./sys-signature.ts";
export * from "./topic-signature.ts";
export { SYS_FAMILIES, SEVERITIES, type SysFamily, type Severity } from "./sys-families.ts";

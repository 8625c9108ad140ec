/**
 * @raftbus/client/vocabulary — the protocol's constants and error type with
 * no dependencies: error codes and `RaftbusError`, priorities, guarantees,
 * maintenance kinds and size limits. Cheap to import (no msgpack, no
 * sockets, no schemas), so a command-line tool can describe its options and
 * classify failures before it decides to connect.
 */
export * from "./protocol/errors.ts";
export { PRIORITIES, GUARANTEES, isPriority, isGuarantee, type Priority, type Guarantee } from "./protocol/message.ts";
export * from "./protocol/limits.ts";
export { MAINTENANCE_KINDS, NODE_ROLES, type MaintenanceKind, type NodeRole } from "./protocol/message.ts";
export { SYS_FAMILIES, SEVERITIES, SYS_SIGNATURE_HEADER, SYS_UNSIGNED, type SysFamily, type Severity } from "./protocol/sys-families.ts";

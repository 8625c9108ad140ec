/**
 * Commands on the wire and in the Raft log: one entry's `data` is one
 * msgpack map `{ v: COMMAND_VERSION, type, now, ... }`.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import { pack, unpack } from "../msgpack.ts";
import type { Command } from "./types.ts";
import { validateCommand } from "./validate.ts";
import type { ValidateOptions } from "./validate.ts";

/** Version of the command encoding; decode refuses others. */
export const COMMAND_VERSION = 1;

/** Encodes a (validated) command as Raft entry data. */
export function encodeCommand(command: Command): Uint8Array {
  return pack({ v: COMMAND_VERSION, ...command });
}

/**
 * Decodes and validates entry data. By default with HARD_LIMITS and system
 * topics allowed (what apply() needs); throws BAD_REQUEST for bytes that are
 * not a command of this version.
 */
export function decodeCommand(data: Uint8Array, opts: ValidateOptions = { allowSystem: true }): Command {
  let value: unknown;
  try {
    value = unpack(data);
  } catch (err) {
    throw new RaftbusError("BAD_REQUEST", `entry is not valid msgpack: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || (value as Record<string, unknown>)["v"] !== COMMAND_VERSION) {
    throw new RaftbusError("BAD_REQUEST", `entry is not a version ${COMMAND_VERSION} broker command`);
  }
  const { v: _v, ...rest } = value as Record<string, unknown>;
  return validateCommand(rest, opts);
}

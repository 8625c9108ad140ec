/**
 * Commands on the wire and in the Raft log: one entry's `data` is one
 * msgpack map `{ v, type, now, ... }`, where `v` is the cluster version the
 * entry needs (version/cluster-version.ts): 1 for every command of the
 * first versioned release, which is also what entries written before
 * versioning carry.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import { pack, unpack } from "../msgpack.ts";
import { BUILD_CLUSTER_VERSION, requiredVersion } from "../version/cluster-version.ts";
import { UnsupportedEntryError } from "../version/unsupported-entry.ts";
import type { Command } from "./types.ts";
import { validateCommand } from "./validate.ts";
import type { ValidateOptions } from "./validate.ts";

/** The `v` of entries written before cluster versions existed (and of every base-version command). */
export const COMMAND_VERSION = 1;

/** Encodes a (validated) command as Raft entry data, stamped with the cluster version it needs. */
export function encodeCommand(command: Command): Uint8Array {
  return pack({ v: requiredVersion(command), ...command });
}

/** Options of {@link decodeEntry}. */
export interface DecodeOptions extends ValidateOptions {
  /** The highest cluster version this node implements (default: the build's). */
  readonly versionMax?: number;
  /** The entry's Raft index, for the refusal message. */
  readonly index?: number;
}

/** A decoded entry: the command and the cluster version it needs. */
export interface DecodedEntry {
  readonly version: number;
  readonly command: Command;
}

/**
 * Decodes and validates entry data (by default with HARD_LIMITS and system
 * topics allowed, as apply() needs).
 * @throws UnsupportedEntryError when the entry needs a cluster version above
 *   `versionMax`: the caller must not apply it (see unsupported-entry.ts);
 *   RaftbusError BAD_REQUEST (or a validation code) for bytes that are not a
 *   valid command of a version this node implements.
 */
export function decodeEntry(data: Uint8Array, opts: DecodeOptions = { allowSystem: true }): DecodedEntry {
  let value: unknown;
  try {
    value = unpack(data);
  } catch (err) {
    throw new RaftbusError("BAD_REQUEST", `entry is not valid msgpack: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RaftbusError("BAD_REQUEST", "entry is not a broker command (not a map)");
  }
  const { v, ...rest } = value as Record<string, unknown>;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) {
    throw new RaftbusError("BAD_REQUEST", `entry is not a broker command (version ${JSON.stringify(v)})`);
  }
  const versionMax = opts.versionMax ?? BUILD_CLUSTER_VERSION;
  if (v > versionMax) throw new UnsupportedEntryError(opts.index ?? 0, v, versionMax);
  // Every build that implements version v knows every command type of v: an
  // unknown type at or below our version is garbage to all of them alike.
  return { version: v, command: validateCommand(rest, opts) };
}

/** Decodes and validates entry data; see {@link decodeEntry}. */
export function decodeCommand(data: Uint8Array, opts: DecodeOptions = { allowSystem: true }): Command {
  return decodeEntry(data, opts).command;
}

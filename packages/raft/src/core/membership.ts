/**
 * Membership: single-server changes, one at a time (thesis §4.1). A
 * configuration takes effect on every node as soon as its `conf` entry is in
 * the log (committed or not); truncating the entry reverts it. A leader
 * proposes a new change only after the previous one committed and after it
 * committed an entry of its own term (the fix for the single-server change
 * bug found after the thesis). Any majority of the old configuration then
 * overlaps any majority of the new one, which keeps elections and commits safe.
 */
import { assert } from "./assert.ts";
import type { ConfChange, ConfEntry, ConfState, NodeId } from "./types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Serialize a conf entry's payload (plain JSON: small and readable on disk). */
export function encodeConfEntry(entry: ConfEntry): Uint8Array {
  return encoder.encode(JSON.stringify(entry));
}

/** Parse and validate a conf entry's payload. */
export function decodeConfEntry(data: Uint8Array): ConfEntry {
  const value: unknown = JSON.parse(decoder.decode(data));
  assert(isConfEntry(value), "conf entry payload is malformed");
  return value;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

/** True when `v` is a well-formed ConfState. */
export function isConfState(v: unknown): v is ConfState {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return isStringArray(o["voters"]) && isStringArray(o["learners"]);
}

function isConfEntry(v: unknown): v is ConfEntry {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  const ch = o["change"] as Record<string, unknown> | undefined;
  return isConfState(o["conf"]) && typeof ch === "object" && ch !== null &&
    typeof ch["node"] === "string" && ["addVoter", "addLearner", "removeNode"].includes(ch["kind"] as string);
}

/** Why a change cannot be applied to a configuration, or undefined when it can. */
export function checkConfChange(conf: ConfState, change: ConfChange): string | undefined {
  const isVoter = conf.voters.includes(change.node);
  const isLearner = conf.learners.includes(change.node);
  switch (change.kind) {
    case "addVoter":
      return isVoter ? `${change.node} is already a voter` : undefined;
    case "addLearner":
      if (isVoter) return `${change.node} is a voter; remove it first to demote`;
      return isLearner ? `${change.node} is already a learner` : undefined;
    case "removeNode":
      if (!isVoter && !isLearner) return `${change.node} is not a member`;
      return isVoter && conf.voters.length === 1 ? "cannot remove the last voter" : undefined;
  }
}

/** The configuration that results from a valid change (sorted for determinism). */
export function applyConfChange(conf: ConfState, change: ConfChange): ConfState {
  const problem = checkConfChange(conf, change);
  assert(problem === undefined, () => `invalid conf change: ${problem}`);
  const without = (xs: readonly NodeId[]) => xs.filter((x) => x !== change.node);
  switch (change.kind) {
    case "addVoter":
      return { voters: [...conf.voters, change.node].sort(), learners: without(conf.learners) };
    case "addLearner":
      return { voters: conf.voters.slice(), learners: [...conf.learners, change.node].sort() };
    case "removeNode":
      return { voters: without(conf.voters), learners: without(conf.learners) };
  }
}

/** True when `id` belongs to the configuration in any role. */
export function isMember(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id) || conf.learners.includes(id);
}

/**
 * Map failures inside the node onto the client protocol's stable codes.
 * Expected failures keep their code; anything else is a bug, logged and
 * reported as INTERNAL without internals leaking to the client.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import type { ErrorInfo } from "@raftbus/client/protocol";
import { RaftError } from "@raftbus/raft";
import { storageCorruption } from "../store/checksum.ts";

/** Turn any thrown value into the wire error; `leaderAddress` resolves a leader id to its client address. */
export function toErrorInfo(err: unknown, leaderAddress: (id: string | null) => string | undefined): { info: ErrorInfo; unexpected: boolean } {
  if (err instanceof RaftbusError) return { info: err.toInfo(), unexpected: false };
  if (err instanceof RaftError) {
    switch (err.code) {
      case "NOT_LEADER": {
        const hint = leaderAddress(err.leaderHint);
        return {
          info: hint !== undefined
            ? { code: "NOT_LEADER", message: `not the leader; the leader is ${err.leaderHint} at ${hint}`, leaderHint: hint }
            : { code: "NO_LEADER", message: "no leader is known right now (election in progress); retry shortly" },
          unexpected: false,
        };
      }
      case "PROPOSAL_DROPPED": return { info: { code: "PROPOSAL_DROPPED", message: err.message }, unexpected: false };
      case "TIMEOUT": return { info: { code: "TIMEOUT", message: err.message }, unexpected: false };
      case "SHUTTING_DOWN": return { info: { code: "SHUTTING_DOWN", message: err.message }, unexpected: false };
      case "INVALID_CONF_CHANGE": return { info: { code: "INVALID_ARGUMENT", message: err.message }, unexpected: false };
    }
  }
  const corrupt = storageCorruption(err);
  if (corrupt !== undefined) return { info: { code: "STORAGE_CORRUPT", message: `${corrupt.message}; see the node's log` }, unexpected: true };
  return { info: { code: "INTERNAL", message: "internal error; see the node's log" }, unexpected: true };
}

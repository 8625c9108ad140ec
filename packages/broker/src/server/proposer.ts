/**
 * Propose one broker command through Raft and turn its applied result into
 * a value or a typed error. Everything that changes replicated state goes
 * through here (STYLE.md practice 7).
 */
import { RaftbusError } from "@raftbus/client/protocol";
import type { RaftNode } from "@raftbus/raft";
import { encodeCommand } from "../commands/codec.ts";
import type { Command } from "../commands/types.ts";
import type { CommandResult, ResultOf } from "../state/results.ts";

/** Propose `command` (already validated) and resolve with its successful result. */
export async function proposeCommand<T extends Command["type"]>(raft: RaftNode<unknown>, command: Command & { type: T }): Promise<ResultOf<T>> {
  const result = (await raft.propose(encodeCommand(command))) as CommandResult | undefined;
  if (result === undefined) throw new RaftbusError("INTERNAL", `no result for applied ${command.type}`);
  if (!result.ok) throw RaftbusError.fromInfo(result.error);
  return result as ResultOf<T>;
}

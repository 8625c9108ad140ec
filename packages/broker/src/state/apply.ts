/**
 * apply() for one decoded entry: clamps log time, runs the command's handler
 * and turns expected failures (RaftbusError) into result values. Anything
 * else thrown is a bug: it propagates and the state machine stops.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import { decodeEntry } from "../commands/codec.ts";
import type { Command } from "../commands/types.ts";
import type { Txn } from "../store/txn.ts";
import type { ApplyContext, ApplyEffects } from "./context.ts";
import { applyDelivery } from "./delivery.ts";
import { applyDlqPurge, applyDlqReplay } from "./dlq.ts";
import { applyMaintenance, applyTick } from "./housekeeping.ts";
import { applyPublish } from "./publish.ts";
import type { CommandResult } from "./results.ts";
import type { BrokerState } from "./state.ts";
import { applyCreateSubscription, applyDeleteSubscription, applyExpireSession, applyUpdateSubscription } from "./subscriptions.ts";
import { applyCreateTopic, applyDeleteTopic, applyUpdateRetention } from "./topics.ts";
import { applySetClusterVersion } from "./cluster-version.ts";
import { applyRecordMembers } from "./members.ts";
import { applyPutUser, applyRemoveUser } from "./users.ts";
import { applyPutSigningKey, applyRemoveSigningKey } from "./signing-keys.ts";
import { effectiveVersion } from "../version/cluster-version.ts";

/**
 * Applies the command in `data` (a `normal` entry at `index`). Undecodable or
 * invalid data yields BAD_REQUEST (or the validation code) and changes
 * nothing but the applied index. An entry needing a cluster version above
 * `versionMax` (this node's build) throws UnsupportedEntryError: the caller
 * must stop rather than apply it (version/unsupported-entry.ts).
 */
export async function applyEntry(state: BrokerState, txn: Txn, effects: ApplyEffects, index: number, data: Uint8Array, versionMax: number): Promise<CommandResult> {
  let command: Command;
  let version: number;
  try {
    ({ command, version } = decodeEntry(data, { allowSystem: true, versionMax, index }));
  } catch (err) {
    if (err instanceof RaftbusError) return { ok: false, error: err.toInfo() };
    throw err;
  }
  // The leader gates proposals on the cluster version; should an entry get
  // past that anyway, every replica that understands it refuses it alike.
  if (command.type !== "setClusterVersion" && version > effectiveVersion(state.meta.clusterVersion)) {
    return { ok: false, error: { code: "FEATURE_NOT_ENABLED", message: `entry needs cluster version ${version}; the cluster runs ${effectiveVersion(state.meta.clusterVersion)}` } };
  }
  // Log time never goes backwards, even across leaders with skewed clocks.
  state.meta.logNow = Math.max(state.meta.logNow, command.now);
  const ctx: ApplyContext = { state, txn, index, now: state.meta.logNow, effects };
  try {
    return await run(ctx, command);
  } catch (err) {
    if (err instanceof RaftbusError) return { ok: false, error: err.toInfo() };
    throw err;
  }
}

async function run(ctx: ApplyContext, c: Command): Promise<CommandResult> {
  switch (c.type) {
    case "createTopic": return applyCreateTopic(ctx, c);
    case "deleteTopic": return applyDeleteTopic(ctx, c);
    case "updateRetention": return applyUpdateRetention(ctx, c);
    case "publish": return applyPublish(ctx, c);
    case "createSubscription": return applyCreateSubscription(ctx, c);
    case "updateSubscription": return applyUpdateSubscription(ctx, c);
    case "deleteSubscription": return applyDeleteSubscription(ctx, c);
    case "expireSession": return applyExpireSession(ctx, c);
    case "delivery": return applyDelivery(ctx, c);
    case "dlqReplay": return applyDlqReplay(ctx, c);
    case "dlqPurge": return applyDlqPurge(ctx, c);
    case "maintenance": return applyMaintenance(ctx, c);
    case "tick": return applyTick(ctx, c);
    case "setClusterVersion": return applySetClusterVersion(ctx, c);
    case "recordMembers": return applyRecordMembers(ctx, c);
    case "putUser": return applyPutUser(ctx, c);
    case "removeUser": return applyRemoveUser(ctx, c);
    case "putSigningKey": return applyPutSigningKey(ctx, c);
    case "removeSigningKey": return applyRemoveSigningKey(ctx, c);
  }
}

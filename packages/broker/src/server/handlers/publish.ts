/** `publish`: stamp and validate the batch, commit it as one entry, answer per message. */
import type { PublishRequest, PublishResponse } from "@raftbus/client/protocol";
import type { HandlerContext } from "../node-server.ts";
import { proposeCommand } from "../proposer.ts";
import type { ClientSession } from "../session.ts";
import { requireLeader } from "./leader.ts";

/** Resolves once the batch is committed on a majority's disks and applied. */
export async function publish(ctx: HandlerContext, session: ClientSession, body: PublishRequest): Promise<PublishResponse> {
  requireLeader(ctx);
  const started = performance.now();
  const command = ctx.broker.buildPublish({ now: Date.now(), senderId: session.clientId || session.id, messages: body.messages });
  const res = await proposeCommand(ctx.raft, command);
  ctx.server.metrics.publishCommitted((performance.now() - started) / 1000, res.results.flatMap((r) => ("error" in r || r.duplicate ? [] : [r.topic])));
  if (ctx.log.isLevelEnabled("debug")) {
    const first = res.results.find((r) => !("error" in r));
    ctx.log.debug({ requestId: ctx.requestId, messages: command.messages.length, index: first !== undefined && !("error" in first) ? first.index : null }, "publish committed");
  }
  return {
    results: res.results.map((r) => ("error" in r ? { ok: false as const, error: r.error } : { ok: true as const, ack: r })),
  };
}

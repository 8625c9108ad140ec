/**
 * `publish`: stamp and validate the batch, then join the leader's open
 * publish batch (one entry per Raft turn for all concurrent publishers);
 * answer per message once committed.
 */
import type { PublishRequest, PublishResponse } from "@raftbus/client/protocol";
import type { HandlerContext } from "../node-server.ts";
import type { ClientSession } from "../session.ts";
import { signatureRefusals } from "../publish/signature-check.ts";
import { requireLeader } from "./leader.ts";

/** Resolves once the batch is committed on a majority's disks and applied. */
export async function publish(ctx: HandlerContext, session: ClientSession, body: PublishRequest): Promise<PublishResponse> {
  requireLeader(ctx);
  // A full disk here or on too many voters: refuse before anything is proposed (nothing committed is touched).
  const full = ctx.server.disk.publishRefusal();
  if (full !== undefined) throw full;
  ctx.server.publishRates.charge(session.identity(), body.messages.length, publishBytes(body));
  const started = performance.now();
  // Topics guarded by a signing key take signed messages only; the others in the batch go on.
  const refusals = signatureRefusals(body.messages, (topic) => ctx.broker.signingKeysFor(topic));
  const accepted = body.messages.filter((_, i) => refusals[i] === undefined);
  if (accepted.length === 0) return { results: refusals.map((error) => ({ ok: false as const, error: error! })) };
  const command = ctx.broker.buildPublish({ now: Date.now(), senderId: session.clientId || session.id, messages: accepted });
  const committed = await ctx.publishes.publish(command);
  let next = 0;
  const results = refusals.map((error) => error !== undefined ? { error } : committed[next++]!);
  ctx.server.metrics.publishCommitted((performance.now() - started) / 1000, results.flatMap((r) => ("error" in r || r.duplicate ? [] : [r.topic])));
  if (ctx.log.isLevelEnabled("debug")) {
    const first = results.find((r) => !("error" in r));
    ctx.log.debug({ requestId: ctx.requestId, messages: command.messages.length, index: first !== undefined && !("error" in first) ? first.index : null }, "publish committed");
  }
  return {
    results: results.map((r) => ("error" in r ? { ok: false as const, error: r.error } : { ok: true as const, ack: r })),
  };
}

/** Payload and header bytes of a publish request (what publishBytesPerSecMax counts). */
function publishBytes(body: PublishRequest): number {
  let n = 0;
  for (const m of body.messages) {
    n += m.payload.byteLength;
    for (const [k, v] of Object.entries(m.headers ?? {})) n += k.length + v.length;
  }
  return n;
}

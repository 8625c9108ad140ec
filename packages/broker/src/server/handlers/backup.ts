/**
 * `backup.open`, `backup.read`, `backup.close`: stream a consistent backup
 * of the leader's state to a client (backup/backup-streams.ts has the
 * bounds; backup/backup-format.ts the file).
 */
import type { BackupOpenResponse, BackupReadRequest, BackupReadResponse, EmptyBody } from "@raftbus/client/protocol";
import type { HandlerContext } from "../node-server.ts";
import type { ClientSession } from "../session.ts";
import { STORE_FORMAT } from "../../store/format.ts";
import { SNAPSHOT_VERSION } from "../../store/snapshot-codec.ts";
import { requireLeader } from "./leader.ts";

/**
 * `backup.open`: pins the leader's applied state (between two applies) and
 * describes it. Served by the leader so the backup holds every write
 * acknowledged before the call (the leader applies an entry before it
 * answers its publisher).
 */
export async function backupOpen(ctx: HandlerContext, session: ClientSession, _body: EmptyBody): Promise<BackupOpenResponse> {
  requireLeader(ctx);
  const stats = await ctx.broker.stats();
  let point = { index: 0, term: 0 };
  const backupId = await ctx.server.backups.start(session.id, async () => {
    const source = await ctx.broker.backupSource();
    point = { index: source.index, term: ctx.server.parts.storage.term(source.index) ?? 0 };
    const conf = ctx.raft.status().conf;
    return {
      header: {
        clusterId: ctx.config.clusterId, nodeId: ctx.config.id, createdAt: Date.now(), index: point.index, term: point.term,
        conf: { voters: [...conf.voters], learners: [...conf.learners] }, clusterVersion: source.clusterVersion,
        storeFormat: STORE_FORMAT, snapshotVersion: SNAPSHOT_VERSION,
      },
      snapshot: source.chunks,
    };
  });
  ctx.log.info({ requestId: ctx.requestId, backupId, index: point.index, client: session.name || session.clientId }, "backup started");
  return { backupId, nodeId: ctx.config.id, ...point, topics: stats.topics, messages: stats.messages, messageBytes: stats.bytes };
}

/** `backup.read`: the next piece (runs as a heavy read: only when the socket has room for it). */
export async function backupRead(ctx: HandlerContext, session: ClientSession, body: BackupReadRequest): Promise<BackupReadResponse> {
  const piece = await ctx.server.backups.read(session.id, body.backupId, body.maxBytes);
  if (piece.done) ctx.log.info({ requestId: ctx.requestId, backupId: body.backupId, bytes: piece.bytes }, "backup streamed");
  return piece;
}

/** `backup.close`. */
export async function backupClose(ctx: HandlerContext, session: ClientSession, body: { readonly backupId: string }): Promise<EmptyBody> {
  await ctx.server.backups.close(session.id, body.backupId);
  return {};
}

/**
 * `raftbus backup create FILE`, `raftbus backup verify FILE` and
 * `raftbus restore FILE --data-dir D --peers … --cluster-id NEW [--id n1 …]`
 * (docs/OPERATIONS.md §6). `create` pulls the leader's backup piece by piece
 * and writes each piece before asking for the next (the file is written as
 * FILE.partial, fsync'd, read back through the verifier, then renamed), so
 * neither side ever holds the whole store. `verify` and `restore` read the
 * file through the broker's own decoder; they load the broker package only
 * when they run.
 */
import { createReadStream } from "node:fs";
import { open, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Argv } from "yargs";
import type { BackupSummary } from "@raftbus/broker";
import { renderTable } from "../output/table.ts";
import { optString, reqString, stringList, type Args } from "../util/args.ts";
import { UsageError } from "../util/errors.ts";
import { formatBytes } from "../util/units.ts";
import type { Act, CommandContext } from "./context.ts";

/** Progress lines on a terminal at most this often. */
const PROGRESS_EVERY_MS = 1000;
/** Progress lines in a log (not a terminal) at most this often. */
const PROGRESS_LOG_EVERY_MS = 10_000;

/** The file's bytes, in the chunks the file system gives. */
function fileChunks(path: string): AsyncIterable<Uint8Array> {
  return createReadStream(path, { highWaterMark: 256 * 1024 }) as AsyncIterable<Uint8Array>;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

async function create(args: Args, ctx: CommandContext): Promise<void> {
  const command = "backup create";
  const file = reqString(args, "file", command);
  if (await exists(file)) throw new UsageError(`${file} exists already; pick another name (a backup never overwrites a file)`, command);
  const partial = `${file}.partial`;
  const client = await ctx.client();
  const handle = await open(partial, "wx");
  const started = Date.now();
  let written = 0;
  let expected = 0;
  let lastReport = started;
  const everyMs = ctx.err.isTTY ? PROGRESS_EVERY_MS : PROGRESS_LOG_EVERY_MS;
  try {
    for await (const piece of client.backup.stream({
      timeoutMs: ctx.timeoutMs,
      onOpen: (info) => {
        expected = info.messageBytes;
        if (!ctx.json) ctx.err.line(`backup of ${info.topics} topics, ${info.messages} messages (${formatBytes(info.messageBytes)} of messages) at index ${info.index}, streamed by ${info.nodeId}`);
      },
    })) {
      // Written before the next piece is asked for: the file system sets the pace.
      for (let at = 0; at < piece.byteLength;) at += (await handle.write(piece, at, piece.byteLength - at)).bytesWritten;
      written += piece.byteLength;
      const now = Date.now();
      if (!ctx.json && now - lastReport >= everyMs) {
        lastReport = now;
        const share = expected > 0 ? ` (about ${Math.min(99, Math.floor((written / expected) * 100))}%)` : "";
        ctx.err.line(`  ${formatBytes(written)} written${share}`);
      }
    }
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(partial, { force: true });
    throw err;
  }
  await handle.close();
  const { inspectBackup } = await import("@raftbus/broker");
  let summary: BackupSummary;
  try {
    summary = await inspectBackup(fileChunks(partial));
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
  await rename(partial, file);
  const seconds = Math.max(0.001, (Date.now() - started) / 1000);
  if (ctx.json) return ctx.out.json({ file, ...jsonOf(summary), seconds });
  ctx.out.line(`${file}: ${formatBytes(summary.bytes)} in ${seconds.toFixed(1)} s, verified`, ...headerLines(summary));
}

async function verify(args: Args, ctx: CommandContext): Promise<void> {
  const file = reqString(args, "file", "backup verify");
  if (!(await exists(file))) throw new UsageError(`${file} does not exist`, "backup verify");
  const { inspectBackup } = await import("@raftbus/broker");
  const summary = await inspectBackup(fileChunks(file));
  if (ctx.json) return ctx.out.json({ file, ...jsonOf(summary) });
  ctx.out.line(`${file}: a complete raftbus backup, checksums verified (${formatBytes(summary.bytes)})`, ...headerLines(summary), "");
  ctx.out.line(...renderTable([
    { header: "TOPIC", value: (t) => t.name },
    { header: "MESSAGES", value: (t) => String(t.messages), align: "right" },
    { header: "OFFSETS", value: (t) => (t.messages === 0 ? "-" : `${t.firstOffset}–${t.nextOffset - 1}`), align: "right" },
    { header: "BYTES", value: (t) => formatBytes(t.bytes), align: "right" },
    { header: "DLQ", value: (t) => String(t.dlq), align: "right" },
  ], summary.topics, { style: ctx.out.style }));
  if (summary.topicCount > summary.topics.length) ctx.out.line(`… and ${summary.topicCount - summary.topics.length} more topics`);
}

/** The new cluster's members (`--peers`, as node start takes it) and the nodes to seed here. */
export async function restorePlan(args: Args): Promise<{ clusterId: string; members: { id: string; host: string; peerPort: number; clientPort: number }[]; targets: { id: string; dataDir: string }[] }> {
  const command = "restore";
  const dataDir = reqString(args, "data-dir", command, false);
  const clusterId = reqString(args, "cluster-id", command, false);
  const peersText = reqString(args, "peers", command, false);
  const { parsePeers, ConfigError } = await import("@raftbus/broker");
  let members;
  try {
    members = parsePeers(peersText);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`--peers: ${err.message}`, command);
    throw err;
  }
  if (members.length === 0) throw new UsageError("--peers names no node", command);
  const ids = stringList(args, "id");
  const chosen = ids.length > 0 ? ids : members.map((m) => m.id);
  // One node: the data directory is its own. Several: one sub-directory each, named by id.
  const targets = chosen.map((id) => ({ id, dataDir: chosen.length === 1 ? dataDir : join(dataDir, id) }));
  return { clusterId, members, targets };
}

async function restore(args: Args, ctx: CommandContext): Promise<void> {
  const file = reqString(args, "file", "restore");
  if (!(await exists(file))) throw new UsageError(`${file} does not exist`, "restore");
  const plan = await restorePlan(args);
  const { restoreBackup } = await import("@raftbus/broker");
  const summary = await restoreBackup({
    open: () => fileChunks(file), ...plan,
    onSeeded: (id, dir) => {
      if (!ctx.json) ctx.err.line(`  ${id}: seeded ${dir}`);
    },
  });
  if (ctx.json) return ctx.out.json({ file, clusterId: plan.clusterId, targets: plan.targets, ...jsonOf(summary) });
  ctx.out.line(
    `restored ${summary.topicCount} topics, ${summary.messages} messages and ${summary.subscriptions} subscriptions at index ${summary.header.index} into cluster "${plan.clusterId}"`,
    `start each node with its data directory, --cluster-id ${plan.clusterId} and --peers ${optString(args, "peers") ?? ""}`,
  );
}

function headerLines(s: BackupSummary): string[] {
  const h = s.header;
  return [
    `  cluster ${h.clusterId}, taken from ${h.nodeId} at ${new Date(h.createdAt).toISOString()}`,
    `  state at index ${h.index} (term ${h.term}), cluster version ${h.clusterVersion}, voters ${h.conf.voters.join(", ")}`,
    `  ${s.topicCount} topics, ${s.messages} messages, ${s.subscriptions} subscriptions, ${s.users} users, ${s.signingKeys} signing keys, ${s.pairs} records`,
  ];
}

function jsonOf(s: BackupSummary): Record<string, unknown> {
  return {
    ...s.header, bytes: s.bytes, pairs: s.pairs, topicCount: s.topicCount, messages: s.messages, subscriptions: s.subscriptions,
    users: s.users, signingKeys: s.signingKeys,
    topics: s.topics, members: s.members,
  };
}

/** `backup create|verify`. */
export function backupCommands(y: Argv, act: Act): Argv {
  return y
    .command("create <file>", "stream a consistent backup of the cluster's state from the leader into FILE (the cluster keeps serving)", (yy: Argv) => yy
      .positional("file", { type: "string", describe: "where to write it; must not exist" })
      .example("$0 backup create home-2026-12-03.rbk", ""), act("backup create", create))
    .command("verify <file>", "check a backup's format, version and checksums, and say what it holds", (yy: Argv) => yy
      .positional("file", { type: "string" }), act("backup verify", verify))
    .demandCommand(1, "say which: raftbus backup create|verify");
}

/** `restore`. */
export function restoreCommand(y: Argv, act: Act): Argv {
  return y.command("restore <file>", "seed the data directories of a NEW cluster from a backup", (yy: Argv) => yy
    .positional("file", { type: "string" })
    .option("data-dir", { type: "string", demandOption: true, describe: "the node's data directory (with several --id: one sub-directory per id)" })
    .option("peers", { type: "string", demandOption: true, describe: "the new cluster: n1=host:peerPort:clientPort,… (as node start takes it)" })
    .option("cluster-id", { type: "string", demandOption: true, describe: "the new cluster's id (must differ from the backup's)" })
    .option("id", { type: "string", array: true, describe: "the node(s) to seed here (default: every one of --peers)" })
    .example("$0 restore home.rbk --data-dir /var/lib/raftbus --id n1 --cluster-id home2 --peers n1=10.0.0.1:7101:7001,n2=…", "")
    .example("$0 restore home.rbk --data-dir ./data --cluster-id test --peers n1=127.0.0.1:7101:7001,n2=127.0.0.1:7102:7002,n3=127.0.0.1:7103:7003", ""),
  act("restore", restore));
}

/**
 * `raftbus backup verify`: reads a whole backup file through the same
 * decoder a restore uses (format, versions, the snapshot's pair count and
 * hash, the file's byte count and SHA-256) and says what is in it, without
 * writing anything. Memory stays bounded: records are looked at one by one
 * and only the topic summaries are kept (at most TOPICS_LISTED_MAX of them).
 */
import { decodeSnapshot } from "../store/snapshot-codec.ts";
import { META_KEY, TAG, compareKeys } from "../store/keys.ts";
import { decodeMember, decodeMeta, decodeTopic } from "../store/records.ts";
import type { MemberRecord } from "../store/records.ts";
import { BackupInvalidError, snapshotOfBackup } from "./backup-format.ts";
import type { BackupHeader, BackupReadState } from "./backup-format.ts";

/** Topics a summary lists by name; the rest are only counted. */
export const TOPICS_LISTED_MAX = 10_000;

/** One topic as the backup holds it. */
export interface BackupTopic {
  readonly name: string;
  /** Retained messages. */
  readonly messages: number;
  /** Offsets of the retained messages: firstOffset ≤ offset < nextOffset. */
  readonly firstOffset: number;
  readonly nextOffset: number;
  readonly bytes: number;
  /** Dead letters held. */
  readonly dlq: number;
}

/** What a backup holds. */
export interface BackupSummary {
  readonly header: BackupHeader;
  /** Size of the file. */
  readonly bytes: number;
  /** Key/value pairs of broker state. */
  readonly pairs: number;
  /** Topics, by name (at most TOPICS_LISTED_MAX). */
  readonly topics: readonly BackupTopic[];
  /** Topics in the backup, listed or not. */
  readonly topicCount: number;
  readonly subscriptions: number;
  /** Users (with their token hashes and grants) and topic signing keys: they come back with a restore. */
  readonly users: number;
  readonly signingKeys: number;
  /** Retained messages over every topic. */
  readonly messages: number;
  /** The replicated address book (cluster version ≥ 2). */
  readonly members: readonly MemberRecord[];
}

/**
 * Reads `file` through and summarises it.
 * @throws BackupInvalidError (BACKUP_INVALID, UNSUPPORTED_VERSION) when it is not a complete, undamaged backup.
 */
export async function inspectBackup(file: AsyncIterable<Uint8Array>): Promise<BackupSummary> {
  const state: BackupReadState = { header: undefined, bytes: 0, complete: false };
  const topics: BackupTopic[] = [];
  const members: MemberRecord[] = [];
  let topicCount = 0;
  let subscriptions = 0;
  let users = 0;
  let signingKeys = 0;
  let messages = 0;
  let appliedIndex: number | undefined;
  let pairs = 0;
  try {
    ({ pairs } = await decodeSnapshot(snapshotOfBackup(file, state), async (batch) => {
      for (const [k, v] of batch) {
        const tag = k[0];
        if (compareKeys(k, META_KEY) === 0) {
          appliedIndex = decodeMeta(v).appliedIndex;
        } else if (tag === TAG.topic) {
          const t = decodeTopic(v);
          topicCount++;
          messages += t.count;
          if (topics.length < TOPICS_LISTED_MAX) {
            topics.push({ name: t.name, messages: t.count, firstOffset: t.firstOffset, nextOffset: t.nextOffset, bytes: t.bytes, dlq: t.dlqSize });
          }
        } else if (tag === TAG.sub) {
          subscriptions++;
        } else if (tag === TAG.user) {
          users++;
        } else if (tag === TAG.signingKey) {
          signingKeys++;
        } else if (tag === TAG.member && members.length < 1024) {
          members.push(decodeMember(v));
        }
      }
    }));
  } catch (err) {
    if (err instanceof BackupInvalidError) throw err;
    throw new BackupInvalidError(err instanceof Error ? err.message : String(err), "BACKUP_INVALID", err);
  }
  const header = state.header;
  if (header === undefined || !state.complete) throw new BackupInvalidError("incomplete file");
  if (appliedIndex !== header.index) {
    throw new BackupInvalidError(`its header says index ${header.index}, the broker state inside is at ${String(appliedIndex)}`);
  }
  topics.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { header, bytes: state.bytes, pairs, topics, topicCount, subscriptions, users, signingKeys, messages, members };
}

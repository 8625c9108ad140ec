/**
 * Which of a Ready's messages may leave before its disk write. A leader's
 * appends, heartbeats, snapshots, TimeoutNow and NotMember promise nothing about the
 * leader's own disk (it counts its own copy only after the write), so they
 * go out in parallel with the fsync (thesis §10.2.1); acks and votes promise
 * what is on disk and wait for it.
 */
import type { Message } from "../core/types.ts";

/** Message kinds only a leader sends; none of them vouches for the sender's disk. */
const LEADER_MESSAGES: ReadonlySet<Message["type"]> = new Set(["app", "heartbeat", "snap", "timeoutNow", "notMember"]);

/** Split a Ready's messages into those that may leave before the write and those that must wait. */
export function splitMessages(messages: readonly Message[]): { early: Message[]; late: Message[] } {
  const early: Message[] = [];
  const late: Message[] = [];
  for (const m of messages) (LEADER_MESSAGES.has(m.type) ? early : late).push(m);
  return { early, late };
}


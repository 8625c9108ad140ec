/**
 * One line per message, entry and Ready, stable and readable, for the
 * interaction transcripts: a change in what the core sends, or in what
 * order, shows up as a diff in a file a reviewer can read.
 */
import { decodeConfEntry } from "../../src/core/membership.ts";
import type { ConfState, Entry, HardState, Message, Ready, SnapshotMeta } from "../../src/core/types.ts";

const decoder = new TextDecoder();

/** `index/term type payload`, e.g. `5/2 normal "x"`, `6/2 noop`, `7/2 conf addLearner n4`. */
export function formatEntry(e: Entry): string {
  if (e.type === "noop") return `${e.index}/${e.term} noop`;
  if (e.type === "conf") {
    const c = decodeConfEntry(e.data);
    return `${e.index}/${e.term} conf ${c.change.kind} ${c.change.node}`;
  }
  return `${e.index}/${e.term} normal ${JSON.stringify(decoder.decode(e.data))}`;
}

/** `voters=(n1 n2) learners=(n3)`. */
export function formatConf(c: ConfState): string {
  return `voters=(${c.voters.join(" ")})${c.learners.length > 0 ? ` learners=(${c.learners.join(" ")})` : ""}`;
}

function formatSnapshot(s: SnapshotMeta): string {
  return `${s.index}/${s.term} ${formatConf(s.conf)}`;
}

/** `n1->n2 app term=2 prev=3/1 commit=3 entries=[4/2 noop]` and the like. */
export function formatMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} term=${m.term}`;
  switch (m.type) {
    case "app":
      return `${head} prev=${m.prevIndex}/${m.prevTerm} commit=${m.commit}${m.entries.length > 0 ? ` entries=[${m.entries.map(formatEntry).join(", ")}]` : ""}`;
    case "appResp":
      return m.reject ? `${head} REJECT index=${m.index} hint=${m.hintIndex}/${m.hintTerm}` : `${head} index=${m.index}`;
    case "vote":
    case "preVote":
      return `${head} last=${m.lastIndex}/${m.lastTerm}${m.transfer ? " transfer" : ""}`;
    case "voteResp":
    case "preVoteResp":
      return m.reject ? `${head} REJECT` : head;
    case "heartbeat":
      return `${head} commit=${m.commit}${m.readSeq > 0 ? ` read=${m.readSeq}` : ""}`;
    case "heartbeatResp":
      return `${head}${m.readSeq > 0 ? ` read=${m.readSeq}` : ""}`;
    case "snap":
      return `${head} snapshot=${formatSnapshot(m.snapshot)}`;
    case "timeoutNow":
      return head;
    case "notMember":
      return `${head} conf=${formatConf(m.conf)}@${m.confIndex}`;
  }
}

function formatHard(h: HardState): string {
  return `term=${h.term} vote=${h.vote ?? "none"} commit=${h.commit}`;
}

/** The Ready, section by section, indented under the node's name. */
export function formatReady(id: string, rd: Ready): string[] {
  const out: string[] = [`> ${id} handling Ready`];
  if (rd.softState) out.push(`  State: ${rd.softState.role} term=${rd.softState.term} leader=${rd.softState.leader ?? "none"}${rd.softState.member ? "" : " NOT A MEMBER"}`);
  if (rd.hardState) out.push(`  HardState ${formatHard(rd.hardState)}${rd.mustSync ? "" : " (no fsync)"}`);
  if (rd.snapshot) out.push(`  Snapshot ${formatSnapshot(rd.snapshot)}`);
  if (rd.entries.length > 0) out.push("  Entries:", ...rd.entries.map((e) => `    ${formatEntry(e)}`));
  if (rd.messages.length > 0) out.push("  Messages:", ...rd.messages.map((m) => `    ${formatMessage(m)}`));
  if (rd.committedEntries.length > 0) out.push("  CommittedEntries:", ...rd.committedEntries.map((e) => `    ${formatEntry(e)}`));
  if (rd.readStates.length > 0) out.push(`  ReadStates: ${rd.readStates.map((r) => `ctx=${r.ctx} index=${r.index}`).join(", ")}`);
  return out;
}

/**
 * Do the replicas agree (SPEC §5)? Replicas apply at their own pace, so
 * their digests at their own applied indexes are rarely comparable; each
 * node remembers the digests of its last entries (state/digest.ts), so the
 * members' digests are compared at ONE index: the lowest applied index among
 * the reachable members.
 */
import type { ReplicaAgreement } from "@raftbus/client/protocol";
import { DIGEST_HISTORY_MAX } from "../../state/digest.ts";

/** A member as the status round saw it. */
export interface DigestSource {
  readonly id: string;
  /** Null when unreachable. */
  readonly appliedIndex: number | null;
  /** The member's digest after entry `index`, null when it no longer remembers it or did not answer. */
  digestAt(index: number): Promise<string | null>;
}

/** The agreement, and each compared member's digest at its index; undefined when no member answered. */
export async function compareReplicas(members: readonly DigestSource[]): Promise<{ agreement: ReplicaAgreement; digests: ReadonlyMap<string, string | null> } | undefined> {
  const reachable = members.filter((m) => m.appliedIndex !== null);
  if (reachable.length === 0) return undefined;
  const index = Math.min(...reachable.map((m) => m.appliedIndex as number));
  const digests = new Map<string, string | null>();
  await Promise.all(reachable.map(async (m) => digests.set(m.id, await m.digestAt(index))));
  const compared = reachable.map((m) => m.id).sort();
  const unreachable = members.filter((m) => m.appliedIndex === null).map((m) => m.id).sort();
  const missing = compared.filter((id) => digests.get(id) === null);
  const distinct = new Set([...digests.values()].filter((d): d is string => d !== null));
  const notCompared = unreachable.length > 0 ? `; ${unreachable.join(", ")} unreachable, not compared` : "";
  let agree: boolean | null;
  let summary: string;
  if (distinct.size > 1) {
    agree = false;
    const groups = compared.filter((id) => digests.get(id) !== null).map((id) => `${id} ${short(digests.get(id) as string)}`);
    summary = `replicas DISAGREE at index ${index}: ${groups.join(", ")}${notCompared}`;
  } else if (missing.length > 0) {
    agree = null;
    summary = `cannot compare at index ${index}: ${missing.join(", ")} no longer remember it (more than ${DIGEST_HISTORY_MAX} entries ahead, or did not answer)${notCompared}`;
  } else {
    agree = true;
    summary = `replicas agree at index ${index} (digest ${short([...distinct][0] as string)}; ${compared.join(", ")})${notCompared}`;
  }
  return { agreement: { index, agree, compared, summary }, digests };
}

/** The first 12 hex digits: enough to tell digests apart by eye. */
export function short(digest: string): string {
  return digest.slice(0, 12);
}

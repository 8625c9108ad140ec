/**
 * Read consistency (issue 16 part 5): a linearizable read is answered only
 * by the leader after a ReadIndex round; a stale read is answered at once
 * by whichever node got it. Fakes stand in for the Raft node and broker:
 * what is checked is who is asked what, and what `readAt` says.
 */
import { describe, expect, it } from "vitest";
import { RaftbusError } from "@raftbus/client/protocol";
import { RaftError } from "@raftbus/raft";
import { readBarrier } from "../../src/server/handlers/read.ts";
import type { HandlerContext } from "../../src/server/node-server.ts";

interface FakeNode {
  leader: boolean;
  leaderId: string | null;
  applied: number;
  readIndexCalls: number;
  readIndex: () => Promise<number>;
}

function context(node: FakeNode): HandlerContext {
  return {
    config: { id: "n2" },
    raft: {
      isLeader: () => node.leader,
      leaderId: () => node.leaderId,
      readIndex: () => {
        node.readIndexCalls++;
        return node.readIndex();
      },
    },
    broker: { appliedIndex: () => node.applied },
    server: { leaderAddress: (id: string | null) => (id === "n1" ? "ws://10.0.0.1:7001" : undefined) },
  } as unknown as HandlerContext;
}

function fake(over: Partial<FakeNode>): FakeNode {
  return { leader: false, leaderId: "n1", applied: 40, readIndexCalls: 0, readIndex: async () => 42, ...over };
}

describe("read barrier", () => {
  it("a stale read is answered by this node from its applied state, without a ReadIndex round", async () => {
    const node = fake({ leader: false, applied: 40 });
    expect(await readBarrier(context(node), "stale")).toEqual({ nodeId: "n2", appliedIndex: 40, consistency: "stale" });
    expect(node.readIndexCalls).toBe(0);
  });

  it("a linearizable read on a follower is refused with NOT_LEADER and the leader's address", async () => {
    const node = fake({ leader: false });
    const err = await readBarrier(context(node), undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RaftbusError);
    expect((err as RaftbusError).code).toBe("NOT_LEADER");
    expect((err as RaftbusError).leaderHint).toBe("ws://10.0.0.1:7001");
    expect(node.readIndexCalls).toBe(0);
  });

  it("a linearizable read during an election is refused with NO_LEADER", async () => {
    const err = await readBarrier(context(fake({ leader: false, leaderId: null })), "linearizable").catch((e: unknown) => e);
    expect((err as RaftbusError).code).toBe("NO_LEADER");
  });

  it("a linearizable read on the leader waits for ReadIndex and reports the confirmed index", async () => {
    const node = fake({ leader: true, leaderId: "n2", applied: 41, readIndex: async () => 42 });
    expect(await readBarrier(context(node), undefined)).toEqual({ nodeId: "n2", appliedIndex: 42, consistency: "linearizable" });
    expect(node.readIndexCalls).toBe(1);
  });

  it("a leader that loses leadership during the round does not answer", async () => {
    const node = fake({ leader: true, leaderId: "n2", readIndex: () => Promise.reject(new RaftError("NOT_LEADER", "leadership lost", "n1")) });
    const err = await readBarrier(context(node), "linearizable").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RaftError);
    expect((err as RaftError).code).toBe("NOT_LEADER");
  });
});

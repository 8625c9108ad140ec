/**
 * Clients and removed nodes, on real node processes (issue 9, fault 2):
 *
 * - a leader cut off from its peers (nftables drops its peer port; its
 *   client port stays reachable) steps down, and a client connected to it
 *   moves to the new leader instead of getting NO_LEADER until the
 *   partition heals;
 * - `cluster remove-node` on a running node: the node learns it was removed,
 *   stops campaigning, says "not a member" in /v1/status and /readyz, and a
 *   publish with it first in --servers succeeds at once.
 *
 * Before the fix the client got NO_LEADER/TIMEOUT for the whole partition,
 * the removed node pre-voted forever listing three voters, and the publish
 * failed with TIMEOUT after 10 s (exit 5).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "@raftbus/client/node";
import type { RaftbusClient } from "@raftbus/client/node";
import { runCli } from "../../packages/cli/test/helpers/cluster.ts";
import { LocalCluster, waitFor } from "../support/local-cluster.ts";
import type { TestNode } from "../support/local-cluster.ts";
import { PortBlock, portBlockUnavailable } from "../support/port-block.ts";

const noPortBlock = portBlockUnavailable();
let cluster: LocalCluster;
const clients: RaftbusClient[] = [];

beforeAll(async () => {
  cluster = await LocalCluster.start();
}, 90_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cluster?.destroy();
});

const url = (n: TestNode): string => `ws://127.0.0.1:${n.clientPort}`;

async function client(servers: readonly TestNode[]): Promise<RaftbusClient> {
  const c = await connect({ servers: servers.map(url), timeoutMs: 15_000, name: "membership-test" });
  clients.push(c);
  return c;
}

interface StatusJson {
  role: string;
  term: number;
  member: boolean;
  notMemberReason?: string;
  voters: string[];
}

async function statusOf(n: TestNode): Promise<StatusJson | undefined> {
  return (await cluster.status(n)) as unknown as StatusJson | undefined;
}

describe("clients move off nodes that cannot serve them", () => {
  it.skipIf(noPortBlock !== undefined)(`a client on a leader cut off from its peers moves to the new leader${noPortBlock ? ` (skipped: ${noPortBlock})` : ""}`, async () => {
    // The node with the largest id dials nobody: blocking its peer port cuts all its peer links.
    const [n1, n2, n3] = cluster.nodes as [TestNode, TestNode, TestNode];
    const admin = await client([n1, n2, n3]);
    await admin.cluster.transferLeader("n3");
    await waitFor("n3 to lead", async () => ((await statusOf(n3))?.role === "leader" ? true : undefined), 20_000);
    const c = await client([n3, n1, n2]);
    await c.publish("iso.events", { before: true });
    expect(c.info?.nodeId).toBe("n3");

    const block = PortBlock.block(n3.peerPort);
    try {
      const cutAt = Date.now();
      const ack = await c.publish("iso.events", { during: true }, { timeoutMs: 20_000 });
      const movedAfterMs = Date.now() - cutAt;
      expect(ack.duplicate).toBe(false);
      expect(["n1", "n2"], `published through ${c.info?.nodeId}`).toContain(c.info?.nodeId);
      // Check-quorum step-down (≤ 2 election timeouts), the election, then about 1 s per leaderless node tried
      // (generous: a loaded CI machine slows elections down).
      expect(movedAfterMs).toBeLessThan(15_000);
      expect((await statusOf(n3))?.role, "the cut-off node still leads").not.toBe("leader");
    } finally {
      block.heal();
    }
    await cluster.waitReady();
  });

  it("a removed node learns it was removed, stops campaigning, and clients skip it", async () => {
    const leader = await cluster.leader();
    const victim = cluster.nodes.find((n) => n !== leader) as TestNode;
    const others = cluster.nodes.filter((n) => n !== victim);
    const removed = await runCli(["cluster", "remove-node", victim.id, "--servers", url(leader)]);
    expect(removed.code, removed.stderr).toBe(0);

    const st = await waitFor(`${victim.id} to learn it was removed`, async () => {
      const s = await statusOf(victim);
      return s !== undefined && !s.member ? s : undefined;
    }, 20_000);
    expect(st.voters).not.toContain(victim.id);
    expect(st.notMemberReason).toMatch(/not a member/);
    const readyz = await fetch(`http://127.0.0.1:${victim.clientPort}/readyz`);
    expect(readyz.status).toBe(503);
    expect(((await readyz.json()) as { reason: string }).reason).toMatch(/^not a member/);

    // It no longer campaigns: no pre-candidate role and a steady term across several election timeouts.
    const term = st.term;
    for (let i = 0; i < 10; i++) {
      const s = await statusOf(victim);
      expect(s?.role).toBe("follower");
      expect(s?.term).toBe(term);
      await new Promise((r) => setTimeout(r, 100));
    }

    // The SDK with the removed node first moves on at once.
    const started = Date.now();
    const c = await client([victim, ...others]);
    await c.publish("removed.events", { n: 1 });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(c.info?.nodeId).not.toBe(victim.id);
    expect(c.servers).toEqual([url(victim), ...others.map(url)]); // configured: kept, but tried after the members

    // The CLI too (before the fix: TIMEOUT after 10 s, exit 5).
    const pub = await runCli(["pub", "removed.events", '{"n":2}', "--servers", [victim, ...others].map(url).join(",")]);
    expect(pub.code, pub.stderr).toBe(0);
  });
});

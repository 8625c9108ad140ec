/**
 * `cluster add-node` cannot poison member addresses (issue 13, part 3), on
 * real node processes through the CLI.
 *
 * The attack, as the issue found it: `cluster add-node n3 --peer <attacker>
 * --client <attacker>` for a member that already exists, sent to any node.
 * The node recorded the attacker's address before anything was proposed, so
 * status and the leader hint pointed at the attacker, and the next
 * membership change handed the poisoned address to the peer transport: the
 * nodes dialed the attacker instead of n3, and n3 was cut off.
 *
 * Now only the leader decides (a follower redirects the CLI there), an id
 * already a member is refused with MEMBER_EXISTS, a learner's promotion
 * keeps its committed address, and an address takes effect only when its
 * change commits. The test replays the attack against every node, then
 * makes a legitimate membership change (which re-reads every address),
 * publishes, and checks that n3 keeps up and that nothing ever connected to
 * the attacker's port.
 */
import { createServer } from "node:net";
import type { Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "@raftbus/client/node";
import { runCliInProcess as runCli } from "../../packages/cli/test/helpers/cluster.ts";
import { EXIT } from "../../packages/cli/src/util/exit-codes.ts";
import { LocalCluster, freePort, waitFor } from "../support/local-cluster.ts";
import type { TestNode } from "../support/local-cluster.ts";

let cluster: LocalCluster;
let attacker: Server;
let attackerPort = 0;
let attackerConnections = 0;

beforeAll(async () => {
  attacker = createServer((socket) => {
    attackerConnections++;
    socket.destroy();
  });
  await new Promise<void>((r) => attacker.listen(0, "127.0.0.1", () => r()));
  attackerPort = (attacker.address() as { port: number }).port;
  cluster = await LocalCluster.start();
}, 90_000);

afterAll(async () => {
  await cluster?.destroy();
  await new Promise((r) => attacker?.close(r));
});

const url = (n: TestNode): string => `ws://127.0.0.1:${n.clientPort}`;

interface StatusJson {
  leaderAddress: string | null;
  appliedIndex: number;
  peers: { id: string; clientAddress: string | null }[];
}

describe("cluster add-node cannot move a member's address", () => {
  it("an existing id is refused with MEMBER_EXISTS on every node; status, hints and peer links keep the committed addresses", async () => {
    const [n1, n2, n3] = cluster.nodes as [TestNode, TestNode, TestNode];
    const poison = ["--peer", `127.0.0.1:${attackerPort}`, "--client", `127.0.0.1:${attackerPort}`];
    const client = await connect({ servers: cluster.servers(), timeoutMs: 15_000, name: "membership-safety" });
    try {
      // A learner, to try moving it at its promotion too.
      const spare = await freePort();
      await client.cluster.addNode({ id: "n9", peerAddress: `127.0.0.1:${spare}`, clientAddress: `127.0.0.1:${spare}`, voter: false });
      // n1 and n2 dial n3 (the smaller id dials): a poisoned address there cuts n3 off. Every node is asked.
      const attacks = [n1, n2, n3].flatMap((target) => [[], ["--learner"]].map((extra) => ({ target, extra })));
      const [moved, ...answers] = await Promise.all([
        runCli(["cluster", "add-node", "n9", ...poison, "--servers", url(n1)]),
        ...attacks.map(({ target, extra }) => runCli(["cluster", "add-node", "n3", ...poison, ...extra, "--servers", url(target)])),
      ]);
      answers.forEach((r, i) => {
        const { target, extra } = attacks[i]!;
        expect(r.code, `${target.id} ${extra.join(" ")}: ${r.stderr}`).toBe(EXIT.FAILED);
        expect(r.stderr).toMatch(/^raftbus: MEMBER_EXISTS: n3 is already a voter at peer 127\.0\.0\.1:\d+, client 127\.0\.0\.1:\d+; remove it first/);
        expect(r.stderr).toContain(`127.0.0.1:${n3.peerPort}`);
      });
      // A learner's promotion keeps its committed address.
      expect(moved!.code).toBe(EXIT.FAILED);
      expect(moved!.stderr).toMatch(/^raftbus: MEMBER_EXISTS: n9 is a learner at peer 127\.0\.0\.1:\d+, client 127\.0\.0\.1:\d+: a promotion keeps its address/);
      // The legitimate change that follows hands every member's address to the peer transports again.
      await client.cluster.removeNode("n9");

      // Every node still has n3 (and the leader) where they really are.
      const leader = await cluster.leader();
      for (const n of cluster.nodes) {
        const st = (await cluster.status(n)) as unknown as StatusJson;
        expect(st.leaderAddress, `${n.id}'s leader hint`).toBe(url(leader));
        for (const p of st.peers) expect(p.clientAddress, `${n.id}'s address of ${p.id}`).toBe(url(cluster.nodes.find((m) => m.id === p.id)!));
      }
      const status = await client.cluster.status();
      expect(status.nodes.find((n) => n.id === "n3")).toMatchObject({ peerAddress: `127.0.0.1:${n3.peerPort}`, clientAddress: url(n3) });
      await client.publish("safety.events", { after: "attack" });
    } finally {
      await client.close();
    }
    const leader = await cluster.leader();
    // n3 keeps up with what is committed after all that: its peer links were never moved.
    const commit = ((await cluster.status(leader)) as unknown as StatusJson).appliedIndex;
    await waitFor("n3 to apply what the leader applied", async () => {
      const st = (await cluster.status(n3)) as unknown as StatusJson | undefined;
      return st !== undefined && st.appliedIndex >= commit ? true : undefined;
    }, 20_000);
    expect(attackerConnections, "connections the nodes made to the attacker's address").toBe(0);
  }, 120_000);
});

/**
 * Cluster sizes 1 → 3 → 5 → 3 with real node processes (issue 16 part 1):
 * a single node grows by `node start --join` (each new node an empty data
 * directory, added as a learner, promoted once caught up) to three and then
 * five voters, and shrinks back to three with `cluster remove-node` — the
 * leader among the removed. At every size the cluster takes writes, and at
 * the end the three replicas agree and hold every message.
 */
import { afterAll, describe, expect, it } from "vitest";
import { connect } from "@raftbus/client/node";
import type { RaftbusClient } from "@raftbus/client/node";
import { runCliInProcess as cli } from "../../packages/cli/test/helpers/cluster.ts";
import { LocalCluster, waitFor } from "../support/local-cluster.ts";
import type { TestNode } from "../support/local-cluster.ts";

const TOPIC = "resize.events";
let cluster: LocalCluster | undefined;
const clients: RaftbusClient[] = [];
let published = 0;

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await cluster?.destroy();
});

const url = (n: TestNode): string => `ws://127.0.0.1:${n.clientPort}`;

async function client(nodes: readonly TestNode[]): Promise<RaftbusClient> {
  const c = await connect({ servers: nodes.map(url), timeoutMs: 15_000, name: "resize-test" });
  clients.push(c);
  return c;
}

/** Publishes `count` messages through a client that knows only `nodes`, and checks the topic holds all of them. */
async function writes(nodes: readonly TestNode[], count: number): Promise<void> {
  const c = await client(nodes);
  for (let i = 0; i < count; i++) await c.publish(TOPIC, { n: published++ });
  expect((await c.topics.info(TOPIC)).messages).toBe(published);
}

async function voters(on: TestNode): Promise<string[] | undefined> {
  const st = (await (cluster as LocalCluster).status(on)) as unknown as { voters?: string[] } | undefined;
  return st?.voters === undefined ? undefined : [...st.voters].sort();
}

/** Starts `node` with an empty data directory through `via` (no peer list) and waits until it votes. */
async function grow(node: TestNode, via: TestNode): Promise<void> {
  const c = cluster as LocalCluster;
  c.startNode(node, ["--peers", `${node.id}=127.0.0.1:${node.peerPort}:${node.clientPort}`, "--join", url(via)]);
  await waitFor(`${node.id} a voter`, async () => {
    if (node.proc === undefined) throw new Error(`${node.id} died:\n${c.log(node).slice(-3000)}`);
    return (await voters(await c.leader()))?.includes(node.id) === true ? true : undefined;
  }, 60_000);
}

describe("cluster sizes 1 → 3 → 5 → 3 (real processes)", () => {
  it("grows from one node to three and five by --join, shrinks to three by remove-node, and keeps every message", async () => {
    cluster = await LocalCluster.start({ nodes: 1 });
    const c = cluster;
    const [n1] = c.nodes as [TestNode];
    await writes([n1], 10);

    // 1 → 3
    for (const id of ["n2", "n3"]) await grow(await c.newNode(id), n1);
    expect(await voters(n1)).toEqual(["n1", "n2", "n3"]);
    await writes(c.nodes.slice(1), 10);

    // 3 → 5
    for (const id of ["n4", "n5"]) await grow(await c.newNode(id), c.nodes[1] as TestNode);
    expect(await voters(await c.leader())).toEqual(["n1", "n2", "n3", "n4", "n5"]);
    await writes(c.nodes.slice(3), 10);

    // 5 → 3: remove the leader and one follower, one change at a time.
    const leader = await c.leader();
    const follower = c.nodes.find((n) => n !== leader) as TestNode;
    for (const gone of [leader, follower]) {
      const rest = c.nodes.filter((n) => n.proc !== undefined && n !== gone);
      const r = await cli(["cluster", "remove-node", gone.id, "--servers", rest.map(url).join(",")]);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      // Asked of every remaining node (the removed one, still running, may not know yet).
      await waitFor(`${gone.id} out of the configuration`, async () => {
        const all = await Promise.all(rest.map(voters));
        return all.every((v) => v !== undefined && !v.includes(gone.id)) ? true : undefined;
      }, 30_000);
      await c.stop(gone);
    }
    const rest = c.nodes.filter((n) => n.proc !== undefined);
    expect(rest).toHaveLength(3);
    expect(await voters(await c.leader())).toEqual(rest.map((n) => n.id).sort());
    await writes(rest, 10);

    const check = await client(rest);
    await waitFor("the three replicas agree", async () => {
      const st = await check.cluster.status();
      return st.agreement?.agree === true && st.agreement.compared.length === 3 ? true : undefined;
    }, 30_000);
    for (const n of rest) {
      const one = await client([n]);
      await waitFor(`${n.id} holds every message`, async () => ((await one.topics.info(TOPIC, { consistency: "stale" })).messages === published ? true : undefined), 15_000);
    }
  }, 150_000);
});

/**
 * Membership with real node processes (issue 16 part 1), one cluster's life:
 *
 * 1. a fourth node starts with an EMPTY data directory and `--join` (no peer
 *    list): it is added as a learner, catches up, promotes itself to voter;
 * 2. it takes traffic: a client that knows only the new node publishes and
 *    reads every message back through it;
 * 3. the leader is killed (SIGKILL): the four-voter cluster (three up)
 *    elects a new leader and keeps serving through the new node;
 * 4. the dead leader's box is replaced: a fifth node joins and
 *    `raftbus cluster replace-node DEAD --with n5` promotes it and removes
 *    the dead member;
 * 5. `raftbus cluster remove-node n4` removes the live fourth node; the
 *    remaining three agree on their state digests and hold every message.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "@raftbus/client/node";
import type { RaftbusClient } from "@raftbus/client/node";
import { runCli } from "../../packages/cli/test/helpers/cluster.ts";
import { LocalCluster, waitFor } from "../support/local-cluster.ts";
import type { TestNode } from "../support/local-cluster.ts";

const TOPIC = "grow.orders";
let cluster: LocalCluster;
const clients: RaftbusClient[] = [];
let published = 0;

beforeAll(async () => {
  cluster = await LocalCluster.start();
}, 90_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cluster?.destroy();
});

const url = (n: TestNode): string => `ws://127.0.0.1:${n.clientPort}`;

async function client(servers: readonly TestNode[]): Promise<RaftbusClient> {
  const c = await connect({ servers: servers.map(url), timeoutMs: 15_000, name: "grow-test" });
  clients.push(c);
  return c;
}

async function publish(c: RaftbusClient, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await c.publish(TOPIC, { n: published++ });
}

interface Membership {
  voters: string[];
  learners: string[];
  role: string;
  member: boolean;
}

async function membership(n: TestNode): Promise<Membership | undefined> {
  return (await cluster.status(n)) as unknown as Membership | undefined;
}

/** Starts `node` with an empty data directory, joining through `via`; no peer list. */
function join(node: TestNode, via: TestNode): void {
  cluster.startNode(node, ["--peers", `${node.id}=127.0.0.1:${node.peerPort}:${node.clientPort}`, "--join", url(via)]);
}

async function waitVoter(node: TestNode, on: TestNode): Promise<void> {
  await waitFor(`${node.id} a voter (as ${on.id} sees it)`, async () => {
    if (node.proc === undefined) throw new Error(`${node.id} died:\n${cluster.log(node).slice(-3000)}`);
    const m = await membership(on);
    return m?.voters.includes(node.id) === true ? true : undefined;
  }, 90_000).catch((e: unknown) => {
    throw new Error(`${String(e)}\n--- ${node.id} log:\n${cluster.log(node).slice(-3000)}`);
  });
}

describe("growing, losing and replacing nodes (real processes)", () => {
  let n4: TestNode;
  let dead: TestNode;

  it("a node with an empty data directory joins with --join, catches up as a learner and is promoted", async () => {
    const c = await client(cluster.nodes);
    await c.topics.create(TOPIC);
    await publish(c, 40);
    const [n1] = cluster.nodes as [TestNode];
    n4 = await cluster.newNode("n4");
    join(n4, n1);
    await waitVoter(n4, await cluster.leader());
    // n4 learns of its promotion a moment after the leader commits it: wait for its own view and log.
    const st = await waitFor("n4 sees itself a voter", async () => {
      const m = await membership(n4);
      return m?.voters.includes("n4") === true ? m : undefined;
    }, 30_000);
    expect(st?.voters).toEqual(["n1", "n2", "n3", "n4"]);
    expect(st?.member).toBe(true);
    // It said what it did, in order.
    const log = await waitFor("n4 logs its promotion", () => (cluster.log(n4).includes("caught up and promoted to voter") ? cluster.log(n4) : undefined), 30_000);
    expect(log.indexOf("added to the cluster as a learner")).toBeGreaterThanOrEqual(0);
    expect(log.indexOf("caught up and promoted to voter")).toBeGreaterThan(log.indexOf("added to the cluster as a learner"));
  }, 150_000);

  it("the new node takes traffic: a client that knows only it publishes and reads everything back", async () => {
    const only = await client([n4]);
    await publish(only, 20);
    const info = await only.topics.info(TOPIC);
    expect(info.messages).toBe(published);
  }, 60_000);

  it("the leader's kill: the four-voter cluster elects another leader and keeps serving through the new node", async () => {
    dead = await cluster.leader();
    await cluster.kill(dead);
    const next = await cluster.leader(60_000);
    expect(next).not.toBe(dead);
    const only = await client([n4]);
    await publish(only, 10);
    expect((await only.topics.info(TOPIC)).messages).toBe(published);
  }, 120_000);

  it("cluster replace-node swaps the dead member for a node that joined", async () => {
    const alive = cluster.nodes.filter((n) => n.proc !== undefined);
    const n5 = await cluster.newNode("n5");
    join(n5, alive[0] as TestNode);
    // replace-node waits for n5 to be a caught-up voter (it may promote it itself), then removes the dead one.
    const r = await runCli(["cluster", "replace-node", dead.id, "--with", "n5", "--wait", "90s", "--json", "--servers", alive.map(url).join(",")], { timeoutMs: 120_000 });
    expect(r.code, `${r.stdout}\n${r.stderr}\n--- n5 log:\n${cluster.log(n5).slice(-2000)}`).toBe(0);
    const outcome = JSON.parse(r.stdout) as { old: string; new: string; voters: string[] };
    expect(outcome).toMatchObject({ old: dead.id, new: "n5" });
    expect([...outcome.voters].sort()).toEqual([...alive.map((n) => n.id), "n5"].sort());
    const c = await client([n5]);
    await publish(c, 10);
    expect((await c.topics.info(TOPIC)).messages).toBe(published);
  }, 180_000);

  it("cluster remove-node removes the live fourth node; the remaining three agree and hold every message", async () => {
    const rest = cluster.nodes.filter((n) => n.proc !== undefined && n !== n4);
    const r = await runCli(["cluster", "remove-node", "n4", "--servers", rest.map(url).join(",")]);
    expect(r.code, r.stderr).toBe(0);
    await waitFor("n4 learns it was removed", async () => ((await membership(n4))?.member === false ? true : undefined), 30_000);
    await cluster.stop(n4);
    const c = await client(rest);
    await publish(c, 5);
    await waitFor("the remaining replicas agree", async () => {
      const st = await c.cluster.status();
      return st.agreement?.agree === true && st.agreement.compared.length === 3 ? st : undefined;
    }, 30_000);
    const st = await c.cluster.status();
    expect(st.nodes.map((n) => n.id).sort()).toEqual(rest.map((n) => n.id).sort());
    for (const n of rest) {
      const one = await client([n]);
      expect((await one.topics.info(TOPIC, { consistency: "stale" })).messages, n.id).toBe(published);
    }
  }, 120_000);
});

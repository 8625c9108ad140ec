/**
 * A rolling upgrade on real node processes (issue 16 part 3). n3 runs as
 * the older release (`--cluster-version-max 1`, a build that implements
 * only cluster version 1), so the fresh cluster settles on version 1 and
 * the leader writes nothing n3 could not apply. Finalizing is refused while
 * n3 is old; after n3 is restarted on the new release it succeeds and the
 * version-2 feature (the replicated address book) starts writing. A node
 * rolled back to the old release after that refuses to start (exit 6)
 * instead of applying the new entries its own way. At the end every
 * replica holds byte-identical broker state.
 *
 * Time entries and system events are switched off so the log goes quiet
 * and the replicas can be compared at one applied index.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "@raftbus/client/node";
import { BUILD_CLUSTER_VERSION, BrokerStateMachine } from "@raftbus/broker";
import { SYS_FAMILIES } from "@raftbus/client/protocol";
import { runCli } from "../../packages/cli/test/helpers/cluster.ts";
import { LocalCluster, waitFor } from "../support/local-cluster.ts";
import type { TestNode } from "../support/local-cluster.ts";

let cluster: LocalCluster;
const OLD = ["--cluster-version-max", "1"];
/** No time entries and no system events: the log goes quiet once the test stops writing. */
const QUIET = {
  RAFTBUS_TIME_TICK_MS: "1h",
  RAFTBUS_SYS: JSON.stringify(Object.fromEntries(SYS_FAMILIES.map((f) => [f, { enabled: false }]))),
};

interface StatusWithVersion {
  appliedIndex: number;
  role: string;
  version?: { clusterVersion: number; clusterVersionMax: number };
}

async function statusOf(n: TestNode): Promise<StatusWithVersion | undefined> {
  return (await cluster.status(n)) as unknown as StatusWithVersion | undefined;
}

async function clusterVersionEverywhere(v: number): Promise<void> {
  await waitFor(`cluster version ${v} on every node`, async () => {
    const all = await Promise.all(cluster.nodes.map(statusOf));
    return all.every((s) => s?.version?.clusterVersion === v) ? true : undefined;
  }, 30_000);
}

const servers = (): string => cluster.servers().join(",");

beforeAll(async () => {
  cluster = await LocalCluster.start({ nodes: 3, env: QUIET, nodeOverrides: { n3: OLD } });
}, 120_000);

afterAll(async () => {
  await cluster?.destroy();
});

describe("rolling upgrade without divergence", () => {
  it("a mixed cluster runs the older version, finalizes only once every node is upgraded, and never diverges", async () => {
    const [n1, n2, n3] = cluster.nodes as [TestNode, TestNode, TestNode];
    await clusterVersionEverywhere(1);
    expect((await statusOf(n3))?.version?.clusterVersionMax).toBe(1);

    // Traffic while mixed.
    const client = await connect({ servers: cluster.servers(), timeoutMs: 15_000 });
    try {
      for (let i = 0; i < 30; i++) await client.publish("upgrade.orders", { i });
    } finally {
      await client.close();
    }

    const refused = await runCli(["cluster", "finalize-upgrade", "--servers", servers()]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/VERSION_MISMATCH/);
    expect(refused.stderr).toMatch(/n3 \(up to 1\)/);
    const status = await runCli(["cluster", "status", "--servers", servers()]);
    expect(status.stdout).toMatch(new RegExp(`cluster version 1 · nodes implement 1 and ${BUILD_CLUSTER_VERSION} \\(upgrade in progress\\)`));
    expect(n3.exitCode).toBeNull();
    // Users are a version-4 feature: refused until the upgrade is finalized, so n3 never sees an entry it cannot apply.
    const early = await runCli(["user", "add", "early", "--grant", "pub:upgrade.**", "--servers", servers()]);
    expect(early.code, early.stderr).toBe(1);
    expect(early.stderr).toMatch(/FEATURE_NOT_ENABLED/);

    // Upgrade n3: stop it (graceful), start it on the new release.
    await cluster.stop(n3);
    cluster.startNode(n3);
    await cluster.waitReady();

    const finalized = await runCli(["cluster", "finalize-upgrade", "--servers", servers()]);
    expect(finalized.code, finalized.stderr).toBe(0);
    // Finalizing goes to the highest version every member implements: this build's.
    expect(finalized.stdout).toMatch(new RegExp(`cluster version 1 → ${BUILD_CLUSTER_VERSION}`));
    await clusterVersionEverywhere(BUILD_CLUSTER_VERSION);
    const user = await runCli(["user", "add", "late", "--grant", "pub:upgrade.**", "--servers", servers()]);
    expect(user.code, user.stderr).toBe(0);

    // Version 2's feature now writes: the leader records every member's address.
    const again = await runCli(["cluster", "finalize-upgrade", "--servers", servers()]);
    expect(again.stdout).toMatch(new RegExp(`runs version ${BUILD_CLUSTER_VERSION} already`));

    // A node rolled back to the older release refuses to start on finalized state.
    await cluster.stop(n2);
    const rollback = await cluster.runNodeToExit(n2, OLD);
    expect(rollback.code).toBe(6);
    expect(rollback.output).toMatch(new RegExp(`STORAGE_TOO_NEW.*runs cluster version ${BUILD_CLUSTER_VERSION}, but this node implements versions up to 1`));
    cluster.startNode(n2);
    await cluster.waitReady();

    // Let the log go quiet, then compare the replicas' bytes at one applied index.
    const { applied, leader } = await waitFor("every node applied the same index", async () => {
      const all = await Promise.all(cluster.nodes.map(statusOf));
      const idx = all.map((s) => s?.appliedIndex);
      const leaderAt = all.findIndex((s) => s?.role === "leader");
      return leaderAt >= 0 && idx.every((i) => i !== undefined && i === idx[0]) ? { applied: idx[0], leader: cluster.nodes[leaderAt] } : undefined;
    }, 30_000);
    // Followers first: a leader stopping gracefully hands over, and the new leader's no-op entry would move the index.
    for (const n of [n1, n2, n3].filter((x) => x !== leader)) expect(await cluster.stop(n)).toBe(0);
    expect(await cluster.stop(leader as TestNode)).toBe(0);
    const digests: string[] = [];
    for (const n of [n1, n2, n3]) {
      const broker = await BrokerStateMachine.open(join(n.dataDir, "broker"));
      try {
        expect(broker.appliedIndex()).toBe(applied);
        expect(broker.clusterVersion()).toBe(BUILD_CLUSTER_VERSION);
        expect([...broker.members().keys()].sort()).toEqual(["n1", "n2", "n3"]);
        expect((await broker.topicInfo("upgrade.orders")).count).toBe(30);
        digests.push(await broker.digest());
      } finally {
        await broker.close();
      }
    }
    expect(new Set(digests).size).toBe(1);
  }, 240_000);
});

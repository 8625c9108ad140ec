/**
 * Seed scenario 1: system health monitoring.
 *
 * A health-monitor agent publishes CPU, memory and disk samples for a few
 * nodes on `system.health.node.<metric>` (priority medium) through the
 * batching publisher; a dashboard subscribes to `system.health.**` (the
 * multi-level wildcard) and keeps the latest value per node and metric.
 * Publishes ROUNDS rounds of samples, waits until the dashboard saw them all,
 * prints its table, exits 0.
 *
 *   pnpm tsx examples/health-monitoring.ts
 */
import { connect, type Msg } from "@raftbus/client/node";
import { run, SERVERS, sleep } from "./common.ts";

const NODES = ["worker-1", "worker-2", "storage-1"];
const METRICS = ["cpu", "memory", "disk"];
const ROUNDS = 5;

interface Sample {
  readonly node_id: string;
  readonly usage: number;
  readonly timestamp: number;
}

run("health-monitoring", async () => {
  const client = await connect({ servers: SERVERS, name: "health-example" });
  console.log(`connected to ${client.info?.nodeId} (leader ${client.info?.leaderId})`);

  // Dashboard: every metric of every node, ephemeral, at-most-once — a live view.
  const latest = new Map<string, Sample>();
  let received = 0;
  const dashboard = await client.subscribe("system.health.**", {
    guarantee: "at-most-once",
    handler: (msg: Msg) => {
      const sample = msg.json<Sample>();
      latest.set(`${sample.node_id} ${msg.topic.split(".").at(-1) ?? "?"}`, sample);
      received++;
    },
  });

  // Agent: batched publishes, a bounded window, idempotent producer.
  const agent = client.publisher({ lingerMs: 5, windowMax: 100 });
  for (let round = 0; round < ROUNDS; round++) {
    for (const node of NODES) {
      for (const metric of METRICS) {
        const sample: Sample = { node_id: node, usage: Math.round(20 + Math.random() * 75), timestamp: Date.now() };
        await agent.publish(`system.health.node.${metric}`, sample, { priority: "medium", headers: { source: "monitoring-agent" } });
      }
    }
    await agent.flush();
    await sleep(200);
  }
  await agent.close();

  const expected = ROUNDS * NODES.length * METRICS.length;
  for (let i = 0; i < 100 && received < expected; i++) await sleep(100);
  if (received < expected) throw new Error(`dashboard saw ${received} of ${expected} samples`);

  console.log(`dashboard received ${received} samples; latest per node and metric:`);
  console.table([...latest].map(([key, s]) => ({ key, usage: s.usage })));
  await dashboard.unsubscribe();
  await client.close();
});

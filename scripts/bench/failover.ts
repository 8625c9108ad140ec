/**
 * Failover time with the default timing (100 ms ticks, 1–2 s election
 * timeout): three real nodes on loopback, an SDK client publishing in a
 * loop; kill -9 the leader and measure until a publish is accepted again by
 * a new leader. Also the time from starting the processes to a ready cluster.
 *
 *   pnpm tsx scripts/bench/failover.ts [--runs 3]
 */
import { parseArgs } from "node:util";
import { connect } from "@raftbus/client/node";
import { LocalCluster, sleep } from "../../test/support/local-cluster.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "3" } } });
const runs = Number(values.runs);
const readyMs: number[] = [];
const failoverMs: number[] = [];

for (let r = 0; r < runs; r++) {
  const t0 = Date.now();
  const cluster = await LocalCluster.start({ tickMs: 100, extraArgs: ["--log-level", "warn"] });
  readyMs.push(Date.now() - t0);
  try {
    const client = await connect({ servers: cluster.servers(), name: "failover-bench", timeoutMs: 30_000 });
    for (let i = 0; i < 20; i++) await client.publish("bench.failover", String(i));
    const leader = await cluster.leader();
    await cluster.kill(leader);
    const killedAt = Date.now();
    // Publish until a new leader accepts (the SDK follows redirects and retries).
    await client.publish("bench.failover", "after");
    failoverMs.push(Date.now() - killedAt);
    await client.close();
    await sleep(100);
  } finally {
    await cluster.destroy();
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
console.log(`start → ready cluster (3 processes): median ${median(readyMs)} ms (${readyMs.join(", ")})`);
console.log(`kill -9 leader → publish accepted by the new leader: median ${median(failoverMs)} ms (${failoverMs.join(", ")})`);
process.exit(0);

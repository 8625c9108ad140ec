/**
 * Seed scenario 2: the alert system.
 *
 * A monitoring agent publishes critical alerts on `alerts.critical.<kind>`
 * with priority critical, guarantee exactly-once and a 10-minute TTL; an
 * alert handler holds the durable, exactly-once subscription `alert-handler`
 * on `alerts.critical.*` with the filter `usage > 90`, so it sees only the
 * alerts above 90 % — each exactly once, even if the publisher resends (the
 * resend is reported as a duplicate and stored once).
 *
 *   pnpm tsx examples/alerts.ts
 */
import { connect, type Msg } from "@raftbus/client/node";
import { RUN_ID, run, SERVERS, sleep } from "./common.ts";

interface Alert {
  readonly node: string;
  readonly disk?: string;
  readonly usage: number;
  readonly run: string;
}

const ALERTS: readonly [string, Alert][] = [
  ["disk", { node: "storage-1", disk: "/dev/sda1", usage: 95, run: RUN_ID }],
  ["cpu", { node: "worker-1", usage: 85, run: RUN_ID }], // filtered out: not above 90
  ["memory", { node: "worker-2", usage: 97, run: RUN_ID }],
  ["disk", { node: "storage-2", disk: "/dev/sdb1", usage: 91, run: RUN_ID }],
  ["cpu", { node: "worker-3", usage: 42, run: RUN_ID }], // filtered out
];

run("alerts", async () => {
  const client = await connect({ servers: SERVERS, name: "alerts-example" });
  console.log(`connected to ${client.info?.nodeId} (leader ${client.info?.leaderId})`);

  const handled = new Map<string, Alert>();
  const handler = await client.subscribe("alerts.critical.*", {
    name: "alert-handler",
    guarantee: "exactly-once",
    filter: "usage > 90",
    maxInFlight: 10,
    handler: (msg: Msg) => {
      const alert = msg.json<Alert>();
      if (alert.run !== RUN_ID) return; // an alert left over from an earlier run: acked, ignored
      if (handled.has(msg.id)) throw new Error(`alert ${msg.id} handled twice`);
      handled.set(msg.id, alert);
      console.log(`  handling ${msg.topic} [${msg.priority}] ${alert.node} usage ${alert.usage}% (attempt ${msg.attempt})`);
    },
  });

  for (const [i, [kind, alert]] of ALERTS.entries()) {
    const id = `alert-critical-${RUN_ID}-${String(i + 1).padStart(3, "0")}`;
    const options = { id, priority: "critical", guarantee: "exactly-once", ttlMs: 600_000 } as const;
    const ack = await client.publish(`alerts.critical.${kind}`, alert, options);
    console.log(`published ${id} → offset ${ack.offset}`);
    if (i === 0) {
      // A resend after, say, a timeout: the cluster stores the id once.
      const again = await client.publish(`alerts.critical.${kind}`, alert, options);
      console.log(`resent ${id} → offset ${again.offset}, duplicate: ${again.duplicate}`);
      if (!again.duplicate || again.offset !== ack.offset) throw new Error("the resend was stored twice");
    }
  }

  const expected = ALERTS.filter(([, a]) => a.usage > 90).length;
  for (let i = 0; i < 100 && handled.size < expected; i++) await sleep(100);
  await sleep(300); // nothing else may arrive: the filter holds back the rest
  const unexpected = [...handled.values()].filter((a) => a.usage <= 90);
  if (handled.size !== expected || unexpected.length > 0) {
    throw new Error(`handled ${handled.size} alerts, expected ${expected} (all with usage > 90)`);
  }
  console.log(`handled ${handled.size} critical alerts above 90%, each once`);
  await handler.unsubscribe(); // detach; the durable subscription keeps its state for the next run
  await client.close();
});

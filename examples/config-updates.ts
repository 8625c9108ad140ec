/**
 * Seed scenario 3: configuration updates.
 *
 * A configuration service publishes threshold changes on
 * `config.updates.monitoring.thresholds` (priority high, at-least-once) and
 * answers `config.get.monitoring` requests with the current thresholds
 * (request/reply). A service holds the durable subscription
 * `service-config-updater` on the exact topic, applies each update and acks
 * it; on start it asks for the current configuration. Publishes UPDATES
 * changes, waits until all are applied, exits 0.
 *
 *   pnpm tsx examples/config-updates.ts
 */
import { connect, type Msg } from "@raftbus/client/node";
import { RUN_ID, run, SERVERS, sleep } from "./common.ts";

interface Thresholds {
  readonly cpu_threshold: number;
  readonly memory_threshold: number;
  readonly applied_by: string;
  readonly run: string;
  readonly version: number;
}

const UPDATES = 3;

run("config-updates", async () => {
  const configService = await connect({ servers: SERVERS, name: "config-service" });
  const service = await connect({ servers: SERVERS, name: "monitoring-service" });
  console.log(`connected to ${configService.info?.nodeId} (leader ${configService.info?.leaderId})`);

  let current: Thresholds = { cpu_threshold: 80, memory_threshold: 85, applied_by: "bootstrap", run: RUN_ID, version: 0 };

  // The config service answers "what is the configuration now?".
  const responder = await configService.reply("config.get.monitoring", () => current);

  // The service: fetch the current configuration, then follow updates.
  const initial = await service.request("config.get.monitoring", {}, { timeoutMs: 5000 });
  let applied = initial.json<Thresholds>();
  console.log(`service started with version ${applied.version}: cpu ${applied.cpu_threshold}%, memory ${applied.memory_threshold}%`);

  const updates = await service.subscribe("config.updates.monitoring.thresholds", {
    name: "service-config-updater",
    guarantee: "at-least-once",
    handler: (msg: Msg) => {
      const next = msg.json<Thresholds>();
      if (next.run !== RUN_ID || next.version <= applied.version) return; // stale or from an earlier run
      applied = next;
      console.log(`  applied version ${next.version} by ${next.applied_by}: cpu ${next.cpu_threshold}%, memory ${next.memory_threshold}%`);
    },
  });

  for (let version = 1; version <= UPDATES; version++) {
    current = { cpu_threshold: 80 - version * 5, memory_threshold: 85 - version * 2, applied_by: "admin", run: RUN_ID, version };
    const ack = await configService.publish("config.updates.monitoring.thresholds", current, { priority: "high", guarantee: "at-least-once", headers: { applied_by: "admin" } });
    console.log(`published version ${version} → offset ${ack.offset}`);
  }

  for (let i = 0; i < 100 && applied.version < UPDATES; i++) await sleep(100);
  if (applied.version !== UPDATES) throw new Error(`service applied version ${applied.version}, expected ${UPDATES}`);

  const check = await service.request("config.get.monitoring", {}, { timeoutMs: 5000 });
  console.log(`config service now reports version ${check.json<Thresholds>().version}`);

  await updates.unsubscribe();
  await responder.unsubscribe();
  await Promise.all([service.close(), configService.close()]);
});

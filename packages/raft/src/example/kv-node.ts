/**
 * A runnable example node: a Raft-replicated key-value map on LevelDB with
 * a WebSocket peer transport and a tiny HTTP API (see kv-http.ts).
 *
 *   node --import tsx packages/raft/src/example/kv-node.ts --id n1 --data ./data/n1 \
 *     --peer-port 7101 --http-port 7201 --secret 0123456789abcdef \
 *     --peers n1=127.0.0.1:7101,n2=127.0.0.1:7102,n3=127.0.0.1:7103
 *
 * Once serving it prints one JSON line to stdout:
 * `{"event":"ready","id":…,"peerPort":…,"httpPort":…,"pid":…}`; logs go to
 * stderr as JSON lines. SIGTERM/SIGINT stop it gracefully (a leader hands
 * over first). Exit codes (stable, asserted by the process tests):
 *
 * | code | meaning                                                          |
 * |------|------------------------------------------------------------------|
 * | 0    | stopped by a signal, cleanly                                     |
 * | 1    | crashed (a bug or an unexpected failure), or shutdown timed out  |
 * | 2    | STORAGE_WRONG_NODE: the data directory belongs to another node   |
 * | 3    | STORAGE_CORRUPT: a record failed verification at start-up        |
 * | 4    | other storage failure at start-up (e.g. directory locked)        |
 * | 5    | the peer or HTTP port could not be bound                         |
 * | 64   | bad command line                                                 |
 */
import { describe } from "./kv-http.ts";
import type { KvNodeConfig } from "./kv-node-config.ts";
import { KV_NODE_USAGE, KvUsageError, parseKvNodeArgs } from "./kv-node-config.ts";
import type { KvNodeHandle } from "./kv-node-app.ts";
import { EXIT, startKvNode, startupFailure, stderrLogger } from "./kv-node-app.ts";

async function main(): Promise<void> {
  let cfg: KvNodeConfig;
  try {
    cfg = parseKvNodeArgs(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof KvUsageError)) throw err;
    process.stderr.write(`kv-node: ${err.message}\n${KV_NODE_USAGE}\n`);
    process.exit(EXIT.usage);
  }
  const logger = stderrLogger(cfg.id);
  let running: KvNodeHandle;
  try {
    running = await startKvNode(cfg, logger);
  } catch (err) {
    const f = startupFailure(err);
    process.stderr.write(`kv-node ${cfg.id}: cannot start: ${f.message}\n`);
    process.exit(f.code);
  }
  process.stdout.write(JSON.stringify({
    event: "ready", id: cfg.id, peerPort: running.peerPort, httpPort: running.httpPort, pid: process.pid,
  }) + "\n");
  let signalled = false;
  const stop = (signal: string): void => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, "stopping");
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: cfg.shutdownTimeoutMs }, "shutdown timed out; exiting");
      process.exit(EXIT.crashed);
    }, cfg.shutdownTimeoutMs);
    running.shutdown().then(
      () => {
        clearTimeout(deadline);
        logger.info({}, "stopped");
        process.exit(EXIT.ok);
      },
      (err: unknown) => {
        logger.error({ err: describe(err) }, "shutdown failed");
        process.exit(EXIT.crashed);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(`kv-node: crashed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(EXIT.crashed);
});

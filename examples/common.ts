/**
 * Shared bits of the examples: where the cluster is, and a hard deadline so a
 * script never hangs (it exits 1 with a message instead).
 */

/** Cluster client addresses: RAFTBUS_SERVERS, or the local cluster `pnpm start` runs. */
export const SERVERS = process.env["RAFTBUS_SERVERS"] ?? "ws://127.0.0.1:7001,ws://127.0.0.1:7002,ws://127.0.0.1:7003";

/** A short id unique to this run, so reruns never collide with earlier message ids. */
export const RUN_ID = Date.now().toString(36);

/**
 * Run `main`, exit 0 when it resolves, 1 when it throws or when `deadlineMs`
 * passes first.
 */
export function run(name: string, main: () => Promise<void>, deadlineMs = 30_000): void {
  const timer = setTimeout(() => {
    console.error(`${name}: did not finish within ${deadlineMs} ms`);
    process.exit(1);
  }, deadlineMs);
  main().then(
    () => {
      clearTimeout(timer);
      console.log(`${name}: done`);
      process.exit(0);
    },
    (err: unknown) => {
      clearTimeout(timer);
      const code = typeof err === "object" && err !== null && "code" in err ? ` [${String(err.code)}]` : "";
      console.error(`${name}: failed${code}: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}

/** Resolve after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Shared helpers of the SDK tests. */
import { connect, type ConnectOptions, type RaftbusClient } from "../src/node.ts";
import type { FakeCluster } from "./fake-server.ts";

/** Poll `condition` every 5 ms until true; throw after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 3000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Sleep `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A deterministic jitter source, so back-off timings replay. */
export function seededRandom(seed = 1): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Connect to the fake cluster with fast test timings. */
export function connectTo(cluster: FakeCluster, options: Partial<ConnectOptions> = {}): Promise<RaftbusClient> {
  return connect({
    servers: cluster.addresses,
    timeoutMs: 3000,
    reconnect: { initialMs: 10, maxMs: 100 },
    pingIntervalMs: 0,
    random: seededRandom(),
    ...options,
  });
}

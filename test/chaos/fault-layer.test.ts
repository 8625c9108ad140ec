/**
 * Both fault layers pass the same tests: stand-in nodes (probe-node.ts)
 * exchange WebSocket messages over the links each layer builds, and every
 * fault kind does what it says. The namespace layer is skipped, with the
 * reason, where namespaces cannot be created.
 */
import { mkdtempSync, openSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/local-cluster.ts";
import type { FaultLayer } from "./net/fault-layer.ts";
import { netnsAvailable } from "./net/netns-layer.ts";
import { openFaultLayer } from "./net/open-layer.ts";
import { Registry } from "./support/registry.ts";

const PROBE = fileURLToPath(new URL("./net/probe-node.ts", import.meta.url));
const IDS = ["n1", "n2", "n3"];

const probeRegistry = new Registry();
const netns = netnsAvailable(probeRegistry);
if (!netns.ok) console.warn(`fault layer: netns tests skipped: ${netns.reason}`);

describe.each([
  { kind: "netns" as const, skip: !netns.ok },
  { kind: "loopback" as const, skip: false },
])("fault layer: $kind", ({ kind, skip }) => {
  let registry: Registry;
  let layer: FaultLayer;

  /** The address `from` dials to reach `to`, as its `--peers` says. */
  const addressOf = (from: string, to: string): string => {
    const entry = layer.net(from).peers.split(",").find((e) => e.startsWith(`${to}=`))!;
    const [host, port] = entry.slice(to.length + 1).split(":");
    return `${host}:${port}`;
  };
  const probe = async (from: string, to: string, n = 20, timeoutMs = 1500): Promise<{ received: number[]; rttMs: number[] }> => {
    const r = await layer.http(from, `/probe?to=${addressOf(from, to)}&n=${n}&timeoutMs=${timeoutMs}`, timeoutMs + 5000);
    expect(r.status).toBe(200);
    return JSON.parse(r.body) as { received: number[]; rttMs: number[] };
  };
  const arrived = async (id: string): Promise<number> => Number((await layer.http(id, "/arrived", 2000)).body);

  beforeAll(async () => {
    if (skip) return;
    registry = new Registry();
    const dir = mkdtempSync(join(tmpdir(), registry.prefix));
    registry.dir(dir);
    const log = openSync(join(dir, "layer.log"), "a");
    layer = await openFaultLayer(kind, IDS, registry, { sockDir: dir, seed: 7, logFd: log });
    for (const id of IDS) {
      const n = layer.net(id);
      layer.spawn(id, process.execPath, ["--import", "tsx", PROBE, JSON.stringify(n)], { stdio: ["ignore", log, log] });
    }
    await waitFor("probe nodes", async () => {
      const codes = await Promise.all(IDS.map((id) => layer.http(id, "/", 1000)));
      return codes.every((c) => c.status === 200) ? true : undefined;
    }, 150_000);
  }, 180_000);

  afterAll(async () => {
    if (skip) return;
    await layer.close();
    registry.cleanup();
  });

  it.skipIf(skip)("every node names each member at the same address, the one the proxies guard", () => {
    // The replicated address book records one node's list and outranks every
    // node's own: lists that differ would route some links around the proxies.
    const lists = IDS.map((id) => layer.net(id).peers);
    expect(new Set(lists).size).toBe(1);
    for (const id of IDS) {
      const own = layer.net(id);
      expect(addressOf(id, id), id).not.toBe(`${own.bindHost}:${own.peerPort}`);
    }
  });

  it.skipIf(skip)("every dialed link carries messages both ways", async () => {
    for (const [a, b] of [["n1", "n2"], ["n1", "n3"], ["n2", "n3"]] as const) {
      expect((await probe(a, b)).received.length, `${a}→${b}`).toBe(20);
    }
  });

  it.skipIf(skip)("a cut blocks a pair and nothing else; heal restores it", async () => {
    await layer.setFaults([["n1", "n2"]], {});
    expect((await probe("n1", "n2", 5, 800)).received).toEqual([]);
    expect((await probe("n1", "n3")).received.length).toBe(20);
    expect((await probe("n2", "n3")).received.length).toBe(20);
    await layer.setFaults([], {});
    expect((await probe("n1", "n2")).received.length).toBe(20);
  });

  it.skipIf(skip)("bridge: 1–2 and 2–3 cut, 1–3 up", async () => {
    await layer.setFaults([["n1", "n2"], ["n2", "n3"]], {});
    expect((await probe("n1", "n2", 5, 800)).received).toEqual([]);
    expect((await probe("n2", "n3", 5, 800)).received).toEqual([]);
    expect((await probe("n1", "n3")).received.length).toBe(20);
    await layer.setFaults([], {});
  });

  it.skipIf(skip)("one-way loss drops one direction only", async () => {
    await layer.setFaults([], { "n2>n1": { lossRate: 1 } });
    const before = await arrived("n2");
    expect((await probe("n1", "n2", 10, 800)).received).toEqual([]);
    expect(await arrived("n2")).toBe(before + 10); // n1 → n2 got through; the echoes did not
    await layer.setFaults([], { "n1>n2": { lossRate: 1 } });
    const before2 = await arrived("n2");
    expect((await probe("n1", "n2", 10, 800)).received).toEqual([]);
    expect(await arrived("n2")).toBe(before2);
    await layer.setFaults([], {});
  });

  it.skipIf(skip)("partial loss drops some messages, delay adds latency", async () => {
    await layer.setFaults([], { "n1>n2": { lossRate: 0.5 } });
    const lossy = (await probe("n1", "n2", 200, 2000)).received.length;
    expect(lossy).toBeGreaterThan(20);
    expect(lossy).toBeLessThan(180);
    await layer.setFaults([], { "n1>n2": { delayMs: 300 } });
    const slow = await probe("n1", "n2", 10, 5000);
    expect(slow.received.length).toBe(10);
    expect(Math.min(...slow.rttMs)).toBeGreaterThanOrEqual(300);
    await layer.setFaults([], {});
  });

  it.skipIf(skip)("jitter keeps order unless reordering is on", async () => {
    await layer.setFaults([], { "n1>n2": { jitterMs: 150 } });
    const ordered = (await probe("n1", "n2", 50, 5000)).received;
    expect(ordered).toEqual([...ordered].sort((x, y) => x - y));
    await layer.setFaults([], { "n1>n2": { jitterMs: 150, reorder: true } });
    const shuffled = (await probe("n1", "n2", 50, 5000)).received;
    expect(shuffled.length).toBe(50);
    expect(shuffled).not.toEqual([...shuffled].sort((x, y) => x - y));
    await layer.setFaults([], {});
  });
});

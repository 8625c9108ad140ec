/**
 * `pnpm tsx scripts/abuse/probe.ts [case…]`: the abuse cases of issue 13,
 * run against a real three-node cluster on this machine, each bounded in
 * time and in the memory it may make a node use, printing one line of
 * figures per case. It measures; the regression tests (test/abuse) check.
 * Used to take the before/after figures of the limits work. Ctrl-C or
 * SIGTERM destroys the running case's cluster before exiting.
 */
import { readFileSync } from "node:fs";
import { connect } from "@raftbus/client/node";
import type { RaftbusClient } from "@raftbus/client/node";
import { PROTOCOL_VERSION, encodeFrame } from "@raftbus/client/protocol";
import WebSocket from "ws";
import type { TestNode } from "../../test/support/local-cluster.ts";
import { LocalCluster, sleep } from "../../test/support/local-cluster.ts";

/** Resident memory of a node process, in MB (Linux). */
function rssMb(node: TestNode): number {
  const pid = node.proc?.pid;
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? 0 : Math.round(Number(m[1]) / 1024);
  } catch {
    return 0;
  }
}

/** Milliseconds /healthz takes to answer (capped at `capMs`, then reported as the cap). */
async function healthzMs(node: TestNode, capMs = 5000): Promise<number> {
  const t0 = Date.now();
  try {
    await fetch(`http://127.0.0.1:${node.clientPort}/healthz`, { signal: AbortSignal.timeout(capMs) });
  } catch {
    return capMs;
  }
  return Date.now() - t0;
}

async function rawSocket(node: TestNode, name = "probe"): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${node.clientPort}`);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  ws.send(encodeFrame({ t: "hello", version: PROTOCOL_VERSION, clientId: `probe-${Math.random().toString(36).slice(2)}`, name }));
  return ws;
}

async function client(c: LocalCluster): Promise<RaftbusClient> {
  return connect({ servers: c.servers(), name: "probe" });
}

type Case = (c: LocalCluster) => Promise<string>;

const CASES: Record<string, Case> = {
  /** Pipelined subscription.list on a follower whose client never reads. */
  async "list-flood"(c) {
    const sdk = await client(c);
    for (let i = 0; i < 200; i++) await sdk.subscribe(`probe.list.${i}.**`, { name: `list-${i}` }).then((s) => s.unsubscribe());
    await sdk.close();
    const leader = await c.leader();
    const follower = c.nodes.find((n) => n !== leader)!;
    const ws = await rawSocket(follower);
    await sleep(200);
    ws.pause();
    const before = rssMb(follower);
    let peak = before;
    let worstHealthz = 0;
    const end = Date.now() + 40_000;
    let sent = 0;
    while (Date.now() < end && peak < 1200 && ws.readyState === WebSocket.OPEN) {
      for (let i = 0; i < 500; i++) ws.send(encodeFrame({ t: "req", id: ++sent, kind: "subscription.list", body: {} } as never));
      await sleep(100);
      peak = Math.max(peak, rssMb(follower));
      if (sent % 5000 === 0) worstHealthz = Math.max(worstHealthz, await healthzMs(follower));
    }
    worstHealthz = Math.max(worstHealthz, await healthzMs(follower));
    const open = ws.readyState === WebSocket.OPEN;
    ws.terminate();
    const t0 = Date.now();
    const code = await Promise.race([c.stop(follower), sleep(15_000).then(() => "no exit in 15 s")]);
    return `requests sent ${sent}; follower RSS ${before} → peak ${peak} MB; worst /healthz ${worstHealthz} ms; socket still open: ${open}; SIGTERM → ${String(code)} after ${Date.now() - t0} ms`;
  },

  /** Many concurrent publishes of large payloads to the leader. */
  async "publish-flood"(c) {
    const leader = await c.leader();
    const termBefore = (await c.status(leader))!.term;
    const sdk = await client(c);
    const payload = new Uint8Array(900 * 1024).fill(65);
    let acked = 0;
    let failed = 0;
    let worstHealthz = 0;
    const end = Date.now() + 20_000;
    const inflight = new Set<Promise<unknown>>();
    while (Date.now() < end) {
      while (inflight.size < 64) {
        const p = sdk.publish("probe.flood", payload).then(() => acked++, () => failed++);
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
      worstHealthz = Math.max(worstHealthz, await healthzMs(leader));
      await Promise.race(inflight);
    }
    await Promise.allSettled([...inflight]);
    await sdk.close();
    const sts = await Promise.all(c.nodes.map((n) => c.status(n)));
    return `acked ${acked}, failed ${failed} in 20 s; worst leader /healthz ${worstHealthz} ms; term ${termBefore} → ${sts.map((s) => s?.term ?? "?").join("/")}`;
  },

  /**
   * Batches of 1,000 messages of 3 KiB (3 MB requests, as many as a window of
   * 4,000 allows) for 20 s, with 100 filter subscriptions on the flooded
   * topics: each batch used to be ONE entry every replica applied in one go.
   * Worst /healthz of every node, and whether an election happened.
   */
  async "batch-flood"(c) {
    const sdk = await client(c);
    const subs = [];
    for (let i = 0; i < 100; i++) subs.push(await sdk.subscribe("probe.batch.*", { filter: `n == ${i}`, handler: () => undefined }));
    const termBefore = (await c.status(await c.leader()))!.term;
    const publisher = sdk.publisher({ batchMessagesMax: 1000, batchBytesMax: 3_300_000, lingerMs: 5, windowMax: 4000 });
    const payload = new TextEncoder().encode(JSON.stringify({ n: -1, pad: "p".repeat(3000) }));
    const worst = c.nodes.map(() => 0);
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const ms = await Promise.all(c.nodes.map((n) => healthzMs(n)));
        ms.forEach((v, i) => (worst[i] = Math.max(worst[i] as number, v)));
        await sleep(100);
      }
    })();
    const end = Date.now() + 20_000;
    let committed = 0;
    let failed = 0;
    for (let i = 0; Date.now() < end; i++) {
      const p = await publisher.publish(`probe.batch.t${i % 10}`, payload);
      void p.committed.then(() => committed++, () => failed++);
    }
    await publisher.flush().catch(() => undefined);
    await publisher.close();
    watching = false;
    await watch;
    for (const s of subs) await s.unsubscribe();
    await sdk.close();
    const sts = await Promise.all(c.nodes.map((n) => c.status(n)));
    return `committed ${committed}, failed ${failed} in 20 s; worst /healthz per node ${worst.join(" / ")} ms; term ${termBefore} → ${sts.map((s) => s?.term ?? "?").join("/")}`;
  },

  /** 150 durable regex subscriptions, then one publish. */
  async "regex-subs"(c) {
    const sdk = await client(c);
    const t1 = Date.now();
    await sdk.publish("probe.regex.x", "warm");
    const baseline = Date.now() - t1;
    // The probe's regex first; once refused (it needs ~1,000 NFA states),
    // the costliest one the subscribe budget admits, 150 times.
    let regex = "/(.?){100}(.?){100}(.?){100}(.?){100}(.?){100}x/";
    let refusal = "accepted";
    try {
      await (await sdk.subscribe(regex, { name: "re-probe" })).unsubscribe();
    } catch (err) {
      refusal = `refused (${err instanceof Error ? err.message.slice(0, 80) : String(err)})`;
      regex = "/(.?){100}(.?){20}x/";
    }
    let created = 0;
    for (let i = 0; i < 150; i++) {
      try {
        const s = await sdk.subscribe(regex, { name: `re-${i}` });
        await s.unsubscribe();
        created++;
      } catch (err) {
        return `subscribe refused after ${created}: ${String(err)}`;
      }
    }
    const topic = `probe.regex.${"a".repeat(200)}`;
    const t0 = Date.now();
    await sdk.publish(topic, "x", { timeoutMs: 120_000 });
    const ms = Date.now() - t0;
    await sdk.close();
    return `the probe's regex: ${refusal}; baseline publish ${baseline} ms; with ${created} durable subscriptions of ${regex} one publish took ${ms} ms`;
  },

  /** 100 filter subscriptions and a 1 MB JSON payload. */
  async "filter-subs"(c) {
    const sdk = await client(c);
    for (let i = 0; i < 100; i++) {
      const s = await sdk.subscribe("probe.filter", { name: `f-${i}`, filter: `payload.k${i} == 1` });
      await s.unsubscribe();
    }
    const obj: Record<string, string> = {};
    for (let i = 0; i < 18_000; i++) obj[`key${i}`] = "v".repeat(40);
    const json = JSON.stringify(obj);
    const t0 = Date.now();
    await sdk.publish("probe.filter", json, { timeoutMs: 120_000 });
    const ms = Date.now() - t0;
    await sdk.close();
    return `with 100 filter subscriptions one publish of a ${(json.length / 1e6).toFixed(2)} MB JSON payload took ${ms} ms`;
  },

  /** Concurrent subscribes in one session and subscribe + detach. */
  async "sub-cap"(c) {
    const leader = await c.leader();
    const ws = await rawSocket(leader);
    let ok = 0;
    let refused = 0;
    const done = new Promise<void>((resolve) => {
      ws.on("message", (d: Buffer) => {
        const s = d.toString("latin1");
        if (s.includes("subscriptionId")) ok++;
        else if (s.includes("error")) refused++;
        if (ok + refused >= 1100) resolve();
      });
    });
    await sleep(200);
    for (let i = 1; i <= 1100; i++) ws.send(encodeFrame({ t: "req", id: i, kind: "subscribe", body: { pattern: `probe.cap.${i}` } } as never));
    await Promise.race([done, sleep(60_000)]);
    ws.terminate();
    const sdk = await client(c);
    let durable = 0;
    for (let i = 0; i < 1100; i++) {
      try {
        const s = await sdk.subscribe(`probe.detach.${i}`, { name: `detach-${i}` });
        await s.unsubscribe();
        durable++;
      } catch {
        break;
      }
    }
    await sdk.close();
    return `1,100 pipelined subscribes on one session: ${ok} accepted, ${refused} refused (cap 1,024); subscribe+detach left ${durable} durable subscriptions`;
  },

  /** Connections, a huge client name, idle after hello. */
  async connections(c) {
    const leader = await c.leader();
    const socks: WebSocket[] = [];
    let refused = 0;
    for (let i = 0; i < 1500; i++) {
      try {
        socks.push(await rawSocket(leader));
      } catch {
        refused++;
      }
    }
    await sleep(500);
    const open = socks.filter((s) => s.readyState === WebSocket.OPEN).length;
    for (const s of socks) s.terminate();
    const big = await rawSocket(leader, "n".repeat(3_900_000)).then(
      async (ws) => {
        const answer = await new Promise<string>((r) => {
          ws.once("message", (d: Buffer) => r(d.toString("latin1").includes("welcome") ? "welcomed" : "refused"));
          ws.once("close", (code) => r(`closed ${code}`));
          setTimeout(() => r("no answer"), 5000);
        });
        ws.terminate();
        return answer;
      },
      (e: unknown) => `error ${String(e)}`,
    );
    const idle = await rawSocket(leader);
    idle.pause();
    const t0 = Date.now();
    const closedAfter = await new Promise<string>((r) => {
      idle.once("close", () => r(`${Date.now() - t0} ms`));
      setTimeout(() => r("still open after 60 s"), 60_000);
    });
    idle.terminate();
    return `1,500 connections from one address: ${open} open, ${refused} refused; 3.9 MB name: ${big}; silent paused client after hello: ${closedAfter}`;
  },

  /** Idle sockets on the peer port. */
  async "peer-slots"(c) {
    const target = c.nodes[2]!;
    const socks: WebSocket[] = [];
    for (let i = 0; i < 80; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${target.peerPort}`);
      ws.on("error", () => undefined);
      socks.push(ws);
    }
    await sleep(1000);
    const open = socks.filter((s) => s.readyState === WebSocket.OPEN).length;
    for (const s of socks) s.terminate();
    return `80 idle sockets on one node's peer port from one address: ${open} held a handshake slot`;
  },
};

/** The cluster of the case running now: a signal destroys it (its node processes, by PID) before exiting. */
let current: LocalCluster | undefined;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void (current?.destroy() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const chosen = wanted.length > 0 ? wanted : Object.keys(CASES);
for (const name of chosen) {
  const run = CASES[name];
  if (run === undefined) {
    console.error(`unknown case ${name}; known: ${Object.keys(CASES).join(", ")}`);
    process.exit(2);
  }
  const c = await LocalCluster.start({ tickMs: 100 });
  current = c;
  try {
    const t0 = Date.now();
    const line = await Promise.race([run(c), sleep(180_000).then(() => "case timed out after 180 s")]);
    console.log(`${name}: ${line} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (err) {
    console.log(`${name}: failed: ${err instanceof Error ? err.stack : String(err)}`);
  } finally {
    await c.destroy();
  }
}
process.exit(0);

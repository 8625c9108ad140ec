/**
 * The live dashboard in a real browser (Debian's chromium through
 * playwright-core; skipped with a clear message only where Chromium cannot
 * be installed): served by a node at `/`, it shows three members and a
 * leader from the cluster's own `$sys.` events, verifies their signatures
 * with the key in the URL fragment, lists topics and a consumer's lag, and shows a killed leader within
 * seconds. `RAFTBUS_SCREENSHOT=1` also writes docs/dashboard.png.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { deriveSysKey, formatSysKey } from "@raftbus/client";
import { connect } from "@raftbus/client/node";
import { launchChromium } from "../support/browser.ts";
import { LocalCluster } from "../support/local-cluster.ts";
// @ts-expect-error: a plain ESM build script without type declarations
import { buildDashboard } from "../../scripts/build-dashboard.mjs";

const SECRET = "dashboard-test-secret-0123456789";
const SCREENSHOT = fileURLToPath(new URL("../../docs/dashboard.png", import.meta.url));

describe("dashboard at / (headless Chromium)", () => {
  let cluster: LocalCluster;
  let browser: Browser | undefined;
  let unavailable: string | undefined;

  beforeAll(async () => {
    await (buildDashboard as () => Promise<number>)();
    const launched = await launchChromium();
    if ("unavailable" in launched) unavailable = launched.unavailable;
    else browser = launched.browser;
    cluster = await LocalCluster.start({ extraArgs: ["--cluster-secret", SECRET] });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await cluster?.destroy();
  });

  it("shows three nodes and a leader, verified; a killed leader shows within seconds", async (ctx) => {
    if (browser === undefined) {
      console.warn(`SKIPPED dashboard browser test: ${unavailable ?? "no browser"}`);
      ctx.skip();
      return;
    }
    // Some traffic, so the metrics and topics panels have something to show.
    const client = await connect({ servers: cluster.servers() });
    await client.sys.set({ metrics: { intervalMs: 1000 } });
    // A durable consumer that went away: what is published next waits for it (consumer lag).
    const archiver = await client.subscribe("sensors.*", { name: "archiver" });
    await archiver.unsubscribe();
    for (let i = 0; i < 20; i++) await client.publish("sensors.temperature", { celsius: 20 + i });
    await client.close();

    const leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n.id !== leader.id)!;
    const key = formatSysKey(deriveSysKey(SECRET, "raftbus"));
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`http://127.0.0.1:${follower.clientPort}/#key=${key}`);

    await page.waitForFunction(() => document.querySelectorAll("#members tr[data-member]").length === 3, undefined, { timeout: 30_000 });
    await page.waitForFunction((id) => document.querySelector(`#members tr[data-role="leader"]`)?.getAttribute("data-member") === id, leader.id, { timeout: 30_000 });
    expect(await page.textContent("#verify")).toMatch(/✓ \d+ signatures verified/);
    expect(await page.textContent("#leader")).toContain(`leader ${leader.id}`);
    // Topics with their rate, and the consumer's lag: the 20 messages it has not taken.
    await page.waitForFunction(() => Number(document.querySelector(`#consumers tr[data-subscription="archiver"]`)?.getAttribute("data-lag")) === 20, undefined, { timeout: 30_000 });
    expect(await page.textContent("#topics")).toContain("sensors.temperature");
    if (process.env["RAFTBUS_SCREENSHOT"] === "1") {
      await page.waitForFunction(() => document.querySelectorAll("#topics tbody tr").length > 0, undefined, { timeout: 20_000 }).catch(() => undefined);
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    }

    const killedAt = Date.now();
    await cluster.kill(leader);
    await page.waitForFunction((id) => {
      const row = document.querySelector(`#members tr[data-member="${id}"]`);
      const lead = document.querySelector(`#members tr[data-role="leader"]`)?.getAttribute("data-member");
      return row?.getAttribute("data-reachable") === "false" && lead !== undefined && lead !== null && lead !== id;
    }, leader.id, { timeout: 30_000 });
    const shownAfterMs = Date.now() - killedAt;
    console.log(`dashboard showed the killed leader ${leader.id} as unreachable and a new leader after ${shownAfterMs} ms`);
    expect(await page.textContent("#alerts")).toMatch(new RegExp(`FIRING node-failure ${leader.id}`));
    // Readable on a phone: nothing wider than the screen but the tables' own scroll areas.
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  }, 120_000);
});

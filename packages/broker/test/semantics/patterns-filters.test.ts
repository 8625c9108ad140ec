/** Patterns and filters wired into fan-out (SPEC §4), with the seed's examples. */
import { afterEach, describe, expect, it } from "vitest";
import { Harness, json } from "../helpers/harness.ts";

let h: Harness;
afterEach(async () => h?.destroy());

describe("patterns in fan-out", () => {
  it("system.* is exactly one level, system.** one or more", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "one", pattern: "system.*" });
    await h.subscribe({ name: "many", pattern: "system.**" });
    await h.subscribe({ name: "exact", pattern: "system.health" });
    for (const t of ["system.health", "system.health.cpu", "system.alerts.disk", "system", "other.health"]) await h.pub(t, 1);
    expect(await h.take("one", 10)).toEqual(["system.health@0#1"]);
    expect(await h.take("many", 10)).toEqual(["system.health@0#1", "system.health.cpu@0#1", "system.alerts.disk@0#1"]);
    expect(await h.take("exact", 10)).toEqual(["system.health@0#1"]);
  });

  it("regex patterns match whole topic names", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "re", pattern: "re:sensor\\.(kitchen|hall)\\.temp" });
    for (const t of ["sensor.kitchen.temp", "sensor.hall.temp", "sensor.attic.temp", "sensor.kitchen.temp.raw"]) await h.pub(t, 1);
    expect(await h.take("re", 10)).toEqual(["sensor.kitchen.temp@0#1", "sensor.hall.temp@0#1"]);
  });

  it("wildcards do not match the cluster's $sys topics; $sys.** does", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "all", pattern: "**" });
    await h.subscribe({ name: "sys", pattern: "$sys.**" });
    await h.ok(h.bsm.buildPublish({ now: h.now, senderId: "node-1", system: true, messages: [{ topic: "$sys.health.node", payload: json({ ok: true }) }] }));
    await h.pub("app.x", 1);
    expect(await h.take("all", 10)).toEqual(["app.x@0#1"]);
    expect(await h.take("sys", 10)).toEqual(["$sys.health.node@0#1"]);
  });

  it("a bad pattern or filter is refused at subscribe time with a stable code and position", () => {
    h = undefined as unknown as Harness;
    return (async () => {
      h = await Harness.open();
      expect(() => h.bsm.checkProposal({ type: "createSubscription", now: 1, subscription: h.bsm.subscriptionSpec({ name: "s", pattern: "a.**b" }) }))
        .toThrow(expect.objectContaining({ code: "INVALID_PATTERN" }));
      expect(() => h.bsm.checkProposal({ type: "createSubscription", now: 1, subscription: h.bsm.subscriptionSpec({ name: "s", pattern: "re:(a+)+$" }) }))
        .not.toThrow(); // safe: the regex engine is linear-time, no backtracking
      let err: unknown;
      try {
        h.bsm.checkProposal({ type: "createSubscription", now: 1, subscription: h.bsm.subscriptionSpec({ name: "s", pattern: "a", filter: "usage > " }) });
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: "INVALID_FILTER", details: { position: expect.any(Number) } });
    })();
  });
});

describe("filters in fan-out", () => {
  it("severity == 'critical' and usage > 90 over JSON payload fields; headers too", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "crit", pattern: "alerts.**", filter: "severity == 'critical'" });
    await h.subscribe({ name: "hot", pattern: "metrics.*", filter: "usage > 90" });
    await h.subscribe({ name: "hdr", pattern: "**", filter: "headers.region == 'eu'" });
    await h.pub("alerts.disk", { severity: "critical" });
    await h.pub("alerts.disk", { severity: "warning" });
    await h.pub("metrics.cpu", { usage: 95 });
    await h.pub("metrics.cpu", { usage: 50 });
    await h.pub("metrics.cpu", "not json");
    await h.pub("metrics.cpu", { usage: 91 }, { headers: { region: "eu" } });
    expect(await h.take("crit", 10)).toEqual(["alerts.disk@0#1"]);
    expect(await h.take("hot", 10)).toEqual(["metrics.cpu@0#1", "metrics.cpu@3#1"]);
    const hdr = await h.take("hdr", 10);
    expect(hdr).toEqual(["metrics.cpu@3#1"]);
  });

  it("filters apply to backfilled messages too", async () => {
    h = await Harness.open();
    for (const usage of [10, 95, 99, 20]) await h.pub("m", { usage });
    await h.subscribe({ name: "hot", pattern: "m", filter: "usage > 90 && !(usage > 98)" });
    expect(await h.take("hot", 10)).toEqual(["m@1#1"]);
  });
});

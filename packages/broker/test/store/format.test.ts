/**
 * On-disk format versions (issue 16 part 3): stores written by older
 * releases (format 1: plain values; format 2: pending references without
 * guarantee and maxRetries) are migrated forward when this build opens
 * them, into a new generation, with the same replicated state; a store of a newer format is refused with STORAGE_TOO_NEW; the
 * format marker is local and stays out of snapshots and digests.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Level } from "level";
import { afterEach, describe, expect, it } from "vitest";
import { BrokerStateMachine } from "../../src/index.ts";
import { unframeValue } from "../../src/store/checksum.ts";
import { FORMAT_KEY, STORE_FORMAT, markerValue } from "../../src/store/format.ts";
import { frameValue } from "../../src/store/checksum.ts";
import { TAG } from "../../src/store/keys.ts";
import { Harness } from "../helpers/harness.ts";

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.destroy()));
});

/** A broker with some state, closed; returns its directory, digest and what it holds. */
async function populated(): Promise<{ h: Harness; digest: string; topics: string[] }> {
  const h = await Harness.open();
  harnesses.push(h);
  await h.ok({ type: "createTopic", now: h.now, topic: "orders", retention: { maxMessages: 100 } });
  for (let i = 0; i < 20; i++) await h.pub("orders", { i });
  await h.subscribe({ name: "billing", pattern: "orders" });
  await h.take("billing", 5);
  const digest = await h.bsm.digest();
  const topics = (await h.bsm.listTopics()).map((t) => `${t.name}:${t.count}`);
  await h.bsm.close();
  return { h, digest, topics };
}

async function liveGeneration(dir: string): Promise<string> {
  return join(dir, (await readFile(join(dir, "CURRENT"), "utf8")).trim());
}

/** Rewrites the live generation in place: values as `rewrite` says, marker per `marker`. */
async function rewrite(
  dir: string, value: (stored: Uint8Array) => Uint8Array, marker: Uint8Array | undefined, only: (k: Uint8Array) => boolean = () => true,
): Promise<void> {
  const db = new Level<Uint8Array, Uint8Array>(await liveGeneration(dir), { keyEncoding: "view", valueEncoding: "view" });
  await db.open();
  const pairs: [Uint8Array, Uint8Array][] = [];
  for await (const [k, v] of db.iterator()) pairs.push([k, v]);
  const batch = db.batch();
  for (const [k, v] of pairs) if (k[0] !== FORMAT_KEY[0] && only(k)) batch.put(k, value(v));
  if (marker === undefined) batch.del(FORMAT_KEY);
  else batch.put(FORMAT_KEY, frameValue(marker));
  await batch.write();
  await db.close();
}

describe("broker store format", () => {
  it("a format-1 store (values without checksums) is migrated forward with the same state", async () => {
    const { h, digest, topics } = await populated();
    const before = await liveGeneration(h.dir);
    await rewrite(h.dir, (v) => Uint8Array.from(unframeValue(v)), undefined);
    h.bsm = await BrokerStateMachine.open(h.dir);
    expect(await liveGeneration(h.dir)).not.toBe(before);
    expect(await h.bsm.digest()).toBe(digest);
    expect((await h.bsm.listTopics()).map((t) => `${t.name}:${t.count}`)).toEqual(topics);
    // It keeps working and reopens as the current format without another migration.
    await h.pub("orders", { after: true });
    await h.restart();
    const live = await liveGeneration(h.dir);
    await h.restart();
    expect(await liveGeneration(h.dir)).toBe(live);
    expect((await h.bsm.topicInfo("orders")).count).toBe(21);
  });

  it("a checksummed store written before the marker existed (format 2) is migrated: pending references gain guarantee and maxRetries", async () => {
    const { h, digest, topics } = await populated();
    const before = await liveGeneration(h.dir);
    let shortened = 0;
    // Format-2 pending values were tid:4 offset:8 expiresAt:8 (20 bytes).
    await rewrite(h.dir, (v) => {
      const plain = unframeValue(v);
      if (plain.length !== 25) return v;
      shortened++;
      return frameValue(Uint8Array.from(plain.subarray(0, 20)));
    }, undefined, (k) => k[0] === TAG.pending);
    expect(shortened).toBe(15);
    h.bsm = await BrokerStateMachine.open(h.dir);
    expect(await liveGeneration(h.dir)).not.toBe(before);
    expect(await h.bsm.digest()).toBe(digest);
    expect((await h.bsm.listTopics()).map((t) => `${t.name}:${t.count}`)).toEqual(topics);
    // The migrated references deliver.
    expect((await h.take("billing", 15)).length).toBe(15);
  });

  it("a store of a newer format is refused with STORAGE_TOO_NEW and left untouched", async () => {
    const { h } = await populated();
    await rewrite(h.dir, (v) => v, markerValue(STORE_FORMAT + 1));
    const err = await BrokerStateMachine.open(h.dir).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe("STORAGE_TOO_NEW");
    expect((err as Error).message).toMatch(new RegExp(`format ${STORE_FORMAT + 1}, written by a newer raftbus`));
    // Put the marker back: the store opens again (nothing was changed).
    await rewrite(h.dir, (v) => v, markerValue(STORE_FORMAT));
    h.bsm = await BrokerStateMachine.open(h.dir);
    expect((await h.bsm.topicInfo("orders")).count).toBe(20);
  });

  it("the marker is local: snapshots carry only replicated keys", async () => {
    const { h, digest } = await populated();
    h.bsm = await BrokerStateMachine.open(h.dir);
    const other = await Harness.open();
    harnesses.push(other);
    await other.bsm.restore({ index: h.bsm.appliedIndex(), term: 1, conf: { voters: ["n1"], learners: [] } }, h.bsm.snapshot());
    expect(await other.bsm.digest()).toBe(digest);
    await other.restart();
    expect(await other.bsm.digest()).toBe(digest);
  });
});

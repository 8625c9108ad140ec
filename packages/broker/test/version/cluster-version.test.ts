/**
 * Rolling upgrades without divergence (issue 16 part 3), at the state
 * machine: entries carry the cluster version they need; a build that does
 * not implement it refuses to apply them (and keeps everything before);
 * the leader's gate keeps unfinalized features out of the log; the cluster
 * version only goes up; the replicated address book is kept from version 2.
 */
import { afterEach, describe, expect, it } from "vitest";
import { RaftbusError } from "@raftbus/client/protocol";
import { encodeConfEntry } from "@raftbus/raft";
import type { ConfChange } from "@raftbus/raft";
import {
  BUILD_CLUSTER_VERSION, COMMAND_SINCE, COMMAND_TYPES, UnsupportedEntryError, decodeEntry, encodeCommand,
} from "../../src/index.ts";
import type { Command } from "../../src/index.ts";
import { decodeMeta, encodeMeta } from "../../src/store/records.ts";
import { pack } from "../../src/msgpack.ts";
import type { Entry } from "../../src/raft-api.ts";
import { Harness } from "../helpers/harness.ts";

const now = 1_700_000_000_000;
const harnesses: Harness[] = [];

async function open(clusterVersionMax?: number): Promise<Harness> {
  const h = await Harness.open(clusterVersionMax !== undefined ? { clusterVersionMax } : {});
  harnesses.push(h);
  return h;
}

afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.destroy()));
});

function confEntry(change: ConfChange): Entry {
  return { index: 0, term: 1, type: "conf", data: encodeConfEntry({ change, conf: { voters: ["n1"], learners: [] } }) };
}

const address = (id: string, port: number): string => JSON.stringify({ id, host: "10.0.0.9", peerPort: port + 100, clientPort: port });

describe("entries carry the cluster version they need", () => {
  it("every command type has a version, and base commands are stamped 1", () => {
    for (const t of COMMAND_TYPES) expect(COMMAND_SINCE[t]).toBeGreaterThanOrEqual(1);
    const tick: Command = { type: "tick", now };
    expect(decodeEntry(encodeCommand(tick)).version).toBe(1);
    expect(decodeEntry(encodeCommand({ type: "setClusterVersion", now, version: 2 })).version).toBe(2);
    expect(decodeEntry(encodeCommand({ type: "recordMembers", now, members: [{ id: "n1", host: "h", peerPort: 1, clientPort: 2 }] })).version).toBe(2);
  });

  it("an entry above the node's version is refused, not answered BAD_REQUEST", () => {
    const data = pack({ v: BUILD_CLUSTER_VERSION + 1, type: "somethingNew", now });
    expect(() => decodeEntry(data, { allowSystem: true, index: 7 })).toThrow(UnsupportedEntryError);
    expect(() => decodeEntry(encodeCommand({ type: "setClusterVersion", now, version: 2 }), { versionMax: 1 })).toThrow(UnsupportedEntryError);
  });
});

describe("a node too old for an entry stops before it, keeping what came first", () => {
  it("applies the entries before the refused one, persists them, then refuses every further apply", async () => {
    const old = await open(1);
    await old.ok({ type: "setClusterVersion", now, version: 1 });
    const topic: Command = { type: "createTopic", now, topic: "a", retention: {} };
    const newer: Command = { type: "setClusterVersion", now, version: 2 };
    const err = await old.applyAll([topic, newer, { type: "tick", now }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedEntryError);
    expect((err as UnsupportedEntryError).index).toBe(3);
    expect((err as UnsupportedEntryError).message).toMatch(/needs cluster version 2.*implements versions up to 1/);
    expect(old.bsm.appliedIndex()).toBe(2);
    await expect(old.bsm.apply([{ index: 3, term: 1, type: "normal", data: encodeCommand({ type: "tick", now }) }])).rejects.toThrow(/stopped after a failed apply/);
    // A restart with a build that implements version 2 continues from entry 3.
    await old.bsm.close();
    const { BrokerStateMachine } = await import("../../src/index.ts");
    old.bsm = await BrokerStateMachine.open(old.dir, {});
    expect(old.bsm.appliedIndex()).toBe(2);
    expect((await old.bsm.listTopics()).map((t) => t.name)).toEqual(["a"]);
    const [r] = await old.bsm.apply([{ index: 3, term: 1, type: "normal", data: encodeCommand(newer) }]);
    expect(r).toMatchObject({ ok: true, type: "setClusterVersion", version: 2 });
  });
});

describe("the leader's gate and the cluster version", () => {
  it("a fresh state has no version; features of a later version are refused until it is raised", async () => {
    const h = await open();
    expect(h.bsm.clusterVersion()).toBe(0);
    const record = { type: "recordMembers", now, members: [{ id: "n1", host: "h", peerPort: 7101, clientPort: 7001 }] };
    let err = (() => {
      try {
        h.bsm.checkProposal(record);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect((err as RaftbusError).code).toBe("FEATURE_NOT_ENABLED");
    await h.ok({ type: "setClusterVersion", now, version: 1 });
    expect(() => h.bsm.checkProposal(record)).toThrow(RaftbusError);
    await h.ok({ type: "setClusterVersion", now, version: 2 });
    expect(h.bsm.checkProposal(record).type).toBe("recordMembers");
    // Never down, never sideways.
    err = await h.run({ type: "setClusterVersion", now, version: 2 });
    expect(err).toMatchObject({ ok: false, error: { code: "INVALID_ARGUMENT" } });
    expect(await h.run({ type: "setClusterVersion", now, version: 1 })).toMatchObject({ ok: false, error: { code: "INVALID_ARGUMENT" } });
    expect(h.bsm.clusterVersion()).toBe(2);
  });

  it("an ungated entry of a later version is refused alike by every replica that understands it", async () => {
    const h = await open();
    await h.ok({ type: "setClusterVersion", now, version: 1 });
    const r = await h.run({ type: "recordMembers", now, members: [{ id: "n1", host: "h", peerPort: 7101, clientPort: 7001 }] });
    expect(r).toMatchObject({ ok: false, error: { code: "FEATURE_NOT_ENABLED" } });
    expect(h.bsm.members().size).toBe(0);
  });

  it("the version survives a restart; records written before versioning read as version 1", async () => {
    const h = await open();
    await h.ok({ type: "setClusterVersion", now, version: 2 });
    await h.restart();
    expect(h.bsm.clusterVersion()).toBe(2);
    const legacy = pack({ version: 1, appliedIndex: 5, logNow: 9, nextTopicId: 1, nextSubId: 1, nextSeq: 0, nextDlqId: 1, gc: [] });
    expect(decodeMeta(legacy).clusterVersion).toBe(1);
    expect(decodeMeta(encodeMeta({ ...decodeMeta(legacy), clusterVersion: 2 })).clusterVersion).toBe(2);
  });
});

describe("the replicated address book (version 2)", () => {
  it("is kept from membership entries only once the cluster runs version 2", async () => {
    const h = await open();
    await h.ok({ type: "setClusterVersion", now, version: 1 });
    await h.applyAll([confEntry({ kind: "addLearner", node: "n4", context: address("n4", 7004) })]);
    expect(h.bsm.members().size).toBe(0);
    await h.ok({ type: "setClusterVersion", now, version: 2 });
    const seen: string[][] = [];
    h.bsm.onMembersChanged((book) => seen.push([...book.keys()]));
    await h.applyAll([confEntry({ kind: "addLearner", node: "n5", context: address("n5", 7005) })]);
    expect(h.bsm.members().get("n5")).toEqual({ id: "n5", host: "10.0.0.9", peerPort: 7105, clientPort: 7005 });
    // A promotion (or any later add) keeps the committed address.
    await h.applyAll([confEntry({ kind: "addVoter", node: "n5", context: address("n5", 7999) })]);
    expect(h.bsm.members().get("n5")?.clientPort).toBe(7005);
    // recordMembers fills in what is missing, never overwrites.
    const rec = await h.ok({ type: "recordMembers", now, members: [
      { id: "n1", host: "10.0.0.1", peerPort: 7101, clientPort: 7001 }, { id: "n5", host: "evil", peerPort: 1, clientPort: 2 },
    ] });
    expect(rec.recorded).toEqual(["n1"]);
    expect(h.bsm.members().get("n5")?.host).toBe("10.0.0.9");
    // A removal forgets the address; a later add may give a new one. A context about another node is ignored.
    await h.applyAll([confEntry({ kind: "removeNode", node: "n5" })]);
    expect(h.bsm.members().has("n5")).toBe(false);
    await h.applyAll([confEntry({ kind: "addLearner", node: "n6", context: address("n7", 7007) })]);
    expect(h.bsm.members().has("n6")).toBe(false);
    await h.restart();
    expect([...h.bsm.members().keys()].sort()).toEqual(["n1"]);
    expect(seen).toEqual([["n5"], ["n5", "n1"], ["n1"]]);
  });

  it("replicas of two builds that apply the same base-version log hold identical bytes", async () => {
    const older = await open(1);
    const newer = await open();
    const commands: Command[] = [
      { type: "setClusterVersion", now, version: 1 },
      { type: "createTopic", now, topic: "t", retention: {} },
      { type: "tick", now: now + 5 },
    ];
    for (const h of [older, newer]) {
      await h.applyAll(commands);
      await h.applyAll([confEntry({ kind: "addLearner", node: "n4", context: address("n4", 7004) })]);
    }
    expect(await older.bsm.digest()).toBe(await newer.bsm.digest());
  });
});

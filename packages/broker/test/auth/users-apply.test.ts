/**
 * Users in the replicated state (cluster version 4): only token hashes are
 * stored; the commands wait for the cluster version; replicas that apply
 * the same entries hold the same users; the records survive a reopen.
 */
import { afterEach, describe, expect, it } from "vitest";
import { RaftbusError } from "@raftbus/client/protocol";
import { USERS_VERSION } from "../../src/version/cluster-version.ts";
import { hashToken } from "../../src/auth/tokens.ts";
import { BrokerStateMachine } from "../../src/index.ts";
import { Harness } from "../helpers/harness.ts";

const now = 1_700_000_000_000;
const harnesses: Harness[] = [];

afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.destroy()));
});

async function open(): Promise<Harness> {
  const h = await Harness.open();
  harnesses.push(h);
  return h;
}

describe("users in the replicated state", () => {
  it("wait for cluster version 4: refused by the leader's gate before, accepted after", async () => {
    const h = await open();
    await h.ok({ type: "setClusterVersion", now, version: USERS_VERSION - 1 });
    const put = { type: "putUser", now, name: "alice", create: true, tokenHash: hashToken("t1"), grants: ["pub:a.**"] };
    const err = (() => {
      try {
        h.bsm.checkProposal(put);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect((err as RaftbusError).code).toBe("FEATURE_NOT_ENABLED");
    await h.ok({ type: "setClusterVersion", now, version: USERS_VERSION });
    expect(h.bsm.checkProposal(put).type).toBe("putUser");
  });

  it("create, rotate, regrant and remove, with stable codes; the state holds hashes only and survives a reopen", async () => {
    const h = await open();
    await h.ok({ type: "setClusterVersion", now, version: USERS_VERSION });
    await h.ok({ type: "putUser", now, name: "alice", create: true, tokenHash: hashToken("t1"), grants: ["pub:a.**"] });
    expect(await h.run({ type: "putUser", now, name: "alice", create: true, tokenHash: hashToken("t2"), grants: [] })).toMatchObject({ ok: false, error: { code: "USER_EXISTS" } });
    expect(await h.run({ type: "putUser", now, name: "bob", create: false, tokenHash: hashToken("t2") })).toMatchObject({ ok: false, error: { code: "USER_NOT_FOUND" } });
    await h.ok({ type: "putUser", now: now + 5, name: "alice", create: false, tokenHash: hashToken("t2") });
    await h.ok({ type: "putUser", now: now + 6, name: "alice", create: false, grants: ["sub:a.*"] });
    const alice = h.bsm.user("alice")!;
    expect(Buffer.from(alice.tokenHash).equals(Buffer.from(hashToken("t2")))).toBe(true);
    expect(alice).toMatchObject({ grants: ["sub:a.*"], createdAt: now, updatedAt: now + 6 });
    await h.bsm.close();
    h.bsm = await BrokerStateMachine.open(h.dir, {});
    expect(h.bsm.user("alice")?.grants).toEqual(["sub:a.*"]);
    await h.ok({ type: "removeUser", now, name: "alice" });
    expect(h.bsm.user("alice")).toBeUndefined();
    expect(await h.run({ type: "removeUser", now, name: "alice" })).toMatchObject({ ok: false, error: { code: "USER_NOT_FOUND" } });
  });

  it("refuses a bad name, bad grants or a hash of the wrong size in validation", async () => {
    const h = await open();
    await h.ok({ type: "setClusterVersion", now, version: USERS_VERSION });
    expect(() => h.bsm.checkProposal({ type: "putUser", now, name: "a.b", create: true, tokenHash: hashToken("t"), grants: [] })).toThrow(/user name/);
    expect(() => h.bsm.checkProposal({ type: "putUser", now, name: "a", create: true, tokenHash: hashToken("t"), grants: ["root"] })).toThrow(RaftbusError);
    expect(() => h.bsm.checkProposal({ type: "putUser", now, name: "a", create: true, tokenHash: new Uint8Array(8), grants: [] })).toThrow(/32 bytes/);
  });
});

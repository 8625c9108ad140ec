/**
 * A new cluster's version is unset (0) until its first leader has heard from
 * every member; `raftbus key add` sent in that window failed with
 * FEATURE_NOT_ENABLED (CI: test/security/signed-topics.test.ts, right after
 * the cluster started). Such a request now waits for the version; a cluster
 * whose version is set but too low still refuses at once (an unfinished
 * upgrade), and a version that never comes ends the wait with a clear error.
 * Fakes stand in for the broker and Raft; the version is set by the fake
 * after the handler has started waiting.
 */
import { describe, expect, it } from "vitest";
import { RaftbusError } from "@raftbus/client/protocol";
import { addKey } from "../../src/server/handlers/keys.ts";
import { checkVersionedProposal } from "../../src/server/handlers/fresh-version.ts";
import type { HandlerContext } from "../../src/server/node-server.ts";
import type { ClientSession } from "../../src/server/session.ts";

const session = {} as ClientSession;

interface Cluster {
  version: number;
  /** checkProposal calls, refused or not. */
  checks: number;
  proposed: unknown[];
}

/** A leader whose gate refuses signing keys below cluster version 5, as BrokerStateMachine's does. */
function context(c: Cluster): HandlerContext {
  return {
    raft: {
      isLeader: () => true,
      propose: async (entry: unknown) => {
        c.proposed.push(entry);
        return { ok: true, name: "deploy", pattern: "deploy.**" };
      },
    },
    broker: {
      clusterVersion: () => c.version,
      checkProposal: (command: { type: string }) => {
        c.checks += 1;
        if (Math.max(1, c.version) < 5) throw new RaftbusError("FEATURE_NOT_ENABLED", `${command.type} needs cluster version 5`);
        return command;
      },
    },
  } as unknown as HandlerContext;
}

describe("requests needing a new cluster's version", () => {
  it("`key add` sent before a new cluster set its version waits for it and succeeds", async () => {
    const c: Cluster = { version: 0, checks: 0, proposed: [] };
    // The version is committed only after the first (refused) check, while the handler
    // polls: it must wait. The fake version is set on the handler's third look.
    const ctx = context(c);
    let looks = 0;
    (ctx.broker as unknown as { clusterVersion: () => number }).clusterVersion = () => {
      if (c.checks >= 1 && ++looks >= 3) c.version = 5;
      return c.version;
    };
    const res = await addKey(ctx, session, { name: "deploy", pattern: "deploy.**" });
    expect(res.name).toBe("deploy");
    expect(res.key).toMatch(/^rbtk1\.deploy\./);
    expect(c.checks).toBe(2);
    expect(c.proposed).toHaveLength(1);
  });

  it("a cluster whose version is set but too low refuses at once (an upgrade to finalize)", async () => {
    const c: Cluster = { version: 4, checks: 0, proposed: [] };
    await expect(checkVersionedProposal(context(c), () => ({ type: "putSigningKey" }), { timeoutMs: 60_000, pollMs: 10 }))
      .rejects.toMatchObject({ code: "FEATURE_NOT_ENABLED", message: expect.stringContaining("needs cluster version 5") });
    expect(c.checks).toBe(1);
  });

  it("a version that never comes ends the wait with FEATURE_NOT_ENABLED naming the cause", async () => {
    const c: Cluster = { version: 0, checks: 0, proposed: [] };
    await expect(checkVersionedProposal(context(c), () => ({ type: "putSigningKey" }), { timeoutMs: 30, pollMs: 5 }))
      .rejects.toMatchObject({ code: "FEATURE_NOT_ENABLED", message: expect.stringContaining("has not set its cluster version yet") });
    expect(c.proposed).toHaveLength(0);
  });

  it("other refusals are not waited on", async () => {
    const c: Cluster = { version: 0, checks: 0, proposed: [] };
    const ctx = context(c);
    (ctx.broker as unknown as { checkProposal: () => never }).checkProposal = () => {
      throw new RaftbusError("INVALID_ARGUMENT", "bad name");
    };
    await expect(checkVersionedProposal(ctx, () => ({ type: "putSigningKey" }), { timeoutMs: 60_000, pollMs: 10 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

/**
 * `node start` configuration for membership (issue 16 part 1): any cluster
 * size is accepted, even ones with a warning; a joining node needs no peer
 * list; a learner counts as caught up only near the leader's commit index.
 */
import { describe, expect, it } from "vitest";
import { configWarnings } from "@raftbus/broker";
import { configFromArgs } from "../src/commands/node-start.ts";
import { JOIN_CAUGHT_UP_ENTRIES, caughtUp } from "../src/node/caught-up.ts";

const peersOf = (n: number): string => Array.from({ length: n }, (_, i) => `n${i + 1}=127.0.0.1:${7101 + i}:${7001 + i}`).join(",");

describe("node start configuration", () => {
  it("accepts every cluster size; even sizes get a warning that says why", () => {
    for (const n of [1, 2, 3, 4, 5, 6]) {
      const config = configFromArgs({ id: "n1", "data-dir": "/tmp/x", peers: peersOf(n) }, {});
      expect(config.peers).toHaveLength(n);
      const warnings = configWarnings(config);
      if (n % 2 === 0 && n > 1) expect(warnings.join("\n")).toMatch(new RegExp(`${n} members need ${n / 2 + 1} up`));
      else expect(warnings).toEqual([]);
    }
  });

  it("--join without a peer list: the node starts knowing only itself", () => {
    const config = configFromArgs({ id: "n4", "data-dir": "/tmp/x", "client-port": 7004, "peer-port": 7104, join: "ws://10.0.0.1:7001" }, {});
    expect(config.peers).toEqual([{ id: "n4", host: "127.0.0.1", peerPort: 7104, clientPort: 7004 }]);
  });

  it("--join keeps a peer list that is given", () => {
    const config = configFromArgs({ id: "n1", "data-dir": "/tmp/x", peers: peersOf(3), join: "ws://10.0.0.1:7001" }, {});
    expect(config.peers).toHaveLength(3);
  });
});

describe("a learner is caught up", () => {
  const status = (matchIndex: number | null, leaderId: string | null = "n1") => ({
    nodeId: "n1", leaderId, term: 2, commitIndex: 1000,
    nodes: [{ id: "n4", clientAddress: "", peerAddress: "", role: "learner" as const, voter: false, healthy: true, term: 2, commitIndex: 990, appliedIndex: 990, matchIndex, lastContactMs: 5 }],
  });

  it(`within ${JOIN_CAUGHT_UP_ENTRIES} entries of the leader's commit index, by the leader's account`, () => {
    expect(caughtUp(status(1000 - JOIN_CAUGHT_UP_ENTRIES), "n4")).toBe(true);
    expect(caughtUp(status(1000 - JOIN_CAUGHT_UP_ENTRIES - 1), "n4")).toBe(false);
    expect(caughtUp(status(null), "n4")).toBe(false);
    expect(caughtUp(status(1000, null), "n4")).toBe(false);
    expect(caughtUp(status(1000), "n9")).toBe(false);
  });
});

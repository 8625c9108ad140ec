/**
 * Which cluster secrets a node accepts (issue 13, peers): the development
 * secret on loopback only, never a placeholder, never a short one — refused
 * by config validation, so `node start` exits 2 before it listens.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, DEV_CLUSTER_SECRET, isLoopbackHost, resolveNodeConfig } from "@raftbus/broker";

const base = { id: "n1", dataDir: "/tmp/x" };
const problems = (extra: Record<string, unknown>): string[] => {
  try {
    resolveNodeConfig(base, extra);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return [...err.problems];
  }
};

describe("cluster secret rules", () => {
  it("loopback is 127.0.0.0/8, ::1 and localhost; 0.0.0.0 and LAN addresses are not", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ["0.0.0.0", "::", "192.168.1.11", "10.0.0.1", "example.org", "127.0.0.1.nip.io"]) expect(isLoopbackHost(h), h).toBe(false);
  });

  it("the development secret (no secret configured) is accepted on loopback only", () => {
    expect(resolveNodeConfig(base).clusterSecret).toBe(DEV_CLUSTER_SECRET);
    expect(problems({ host: "localhost" })).toEqual([]);
    for (const host of ["0.0.0.0", "192.168.1.11"]) {
      expect(problems({ host })).toEqual([expect.stringMatching(new RegExp(`^clusterSecret: the built-in development secret is refused when the node listens beyond loopback \\(host ${host.replace(/\./g, "\\.")}\\)`))]);
      // Named explicitly, it is the same secret and the same refusal.
      expect(problems({ host, clusterSecret: DEV_CLUSTER_SECRET })).toHaveLength(1);
    }
  });

  it("a known placeholder is refused everywhere, loopback included", () => {
    for (const secret of ["change-me-to-a-long-random-string", "CHANGE-ME-please-0123456789", "replace_me_with_something_long", "your-secret-goes-here-0123"]) {
      for (const host of ["127.0.0.1", "0.0.0.0"]) {
        expect(problems({ host, clusterSecret: secret }), `${secret} on ${host}`).toEqual([expect.stringContaining(`clusterSecret: "${secret}" is a placeholder, not a secret; generate one with \`openssl rand -base64 32\``)]);
      }
    }
  });

  it("a secret shorter than 16 characters is refused; the previous secret of a rotation follows the same rules", () => {
    expect(problems({ clusterSecret: "short-secret" })).toEqual([expect.stringMatching(/^clusterSecret: must be at least 16 characters \(got 12\)/)]);
    expect(problems({ clusterSecretPrevious: "short" })).toEqual([expect.stringMatching(/^clusterSecretPrevious: must be at least 16 characters/)]);
    expect(problems({ host: "0.0.0.0", clusterSecret: "a-real-secret-0123456789", clusterSecretPrevious: "change-me-to-a-long-random-string" }))
      .toEqual([expect.stringContaining("clusterSecretPrevious: \"change-me-to-a-long-random-string\" is a placeholder")]);
    expect(problems({ host: "0.0.0.0", clusterSecret: "a-real-secret-0123456789" })).toEqual([]);
  });
});

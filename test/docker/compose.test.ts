/**
 * No Docker engine runs here, so the deployment files are checked as files:
 * the compose file parses, has three nodes on three hosts with persistent
 * volumes and /readyz health checks, and every RAFTBUS_* setting it passes is
 * one the node's config schema knows and accepts.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CONFIG_KEYS, configFromEnv, resolveNodeConfig } from "@raftbus/broker";

const root = new URL("../../docker/", import.meta.url);
const compose = parse(readFileSync(new URL("compose.yaml", root), "utf8"), { merge: true }) as {
  services: Record<string, { profiles: string[]; environment: Record<string, string>; volumes: string[]; healthcheck: { test: string[] } }>;
  volumes: Record<string, unknown>;
};

/** Compose's ${VAR:?msg} interpolation with the example .env values. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::\?[^}]*)?\}/g, (_, name: string) => {
    const v = env[name];
    if (v === undefined) throw new Error(`compose references ${name}, which .env.example does not define`);
    return v;
  });
}

const exampleEnv = Object.fromEntries(readFileSync(new URL(".env.example", root), "utf8").split("\n")
  .filter((l) => /^[A-Z0-9_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));

describe("docker/compose.yaml", () => {
  it("has one node per box, each with its own volume and a /readyz health check", () => {
    const names = Object.keys(compose.services).sort();
    expect(names).toEqual(["n1", "n2", "n3"]);
    const profiles = names.map((n) => compose.services[n]!.profiles[0]);
    expect(new Set(profiles).size).toBe(3);
    for (const n of names) {
      const s = compose.services[n]!;
      expect(s.volumes).toEqual([`${n}-data:/data`]);
      expect(Object.keys(compose.volumes)).toContain(`${n}-data`);
      expect(s.healthcheck.test.join(" ")).toContain("/readyz");
    }
  });

  it("passes only settings the node's config schema knows, and they validate once the placeholder secret is replaced", () => {
    const known = new Set(CONFIG_KEYS.map((k) => `RAFTBUS_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`));
    const filledIn = { ...exampleEnv, RAFTBUS_CLUSTER_SECRET: randomBytes(32).toString("base64") };
    for (const [name, svc] of Object.entries(compose.services)) {
      const env = Object.fromEntries(Object.entries(svc.environment).map(([k, v]) => [k, interpolate(String(v), filledIn)]));
      for (const k of Object.keys(env)) expect(known, `${name}: ${k} is not a node setting`).toContain(k);
      const cfg = resolveNodeConfig(configFromEnv(env));
      expect(cfg.id).toBe(name);
      expect(cfg.peers.map((p) => p.id)).toEqual(["n1", "n2", "n3"]);
      expect(cfg.host).toBe("0.0.0.0");
    }
  });

  it("relies on no default secret: the compose file demands one, and the example's placeholder is refused", () => {
    for (const svc of Object.values(compose.services)) {
      expect(svc.environment["RAFTBUS_CLUSTER_SECRET"]).toMatch(/^\$\{RAFTBUS_CLUSTER_SECRET:\?[^}]+\}$/);
      const env = Object.fromEntries(Object.entries(svc.environment).map(([k, v]) => [k, interpolate(String(v), exampleEnv)]));
      expect(() => resolveNodeConfig(configFromEnv(env))).toThrow(/clusterSecret: "change-me-to-a-long-random-string" is a placeholder/);
      // Left out altogether, the node would fall back to the development secret: refused on 0.0.0.0.
      const { RAFTBUS_CLUSTER_SECRET: _, ...without } = env;
      expect(() => resolveNodeConfig(configFromEnv(without))).toThrow(/development secret is refused when the node listens beyond loopback \(host 0\.0\.0\.0\)/);
    }
    const df = readFileSync(new URL("Dockerfile", root), "utf8");
    expect(df).not.toMatch(/RAFTBUS_CLUSTER_SECRET/);
    expect(df).toMatch(/RAFTBUS_HOST=0\.0\.0\.0/);
  });

  it("the Dockerfile starts a node with node itself and checks /readyz (its stages: stages.test.ts)", () => {
    const df = readFileSync(new URL("Dockerfile", root), "utf8");
    expect(df).toMatch(/^FROM node:20/m);
    expect(df).toMatch(/ENTRYPOINT \["node", "\/app\/dist\/bin.js", "node", "start"\]/);
    expect(df).toMatch(/HEALTHCHECK[\s\S]*\/readyz/);
  });
});

/**
 * Peer secrets on real processes (issue 13, part 3): a node refuses to
 * start (exit 2, a message that says what to do) with the built-in
 * development secret beyond loopback, with the docker/.env.example
 * placeholder, or with a short secret; `raftbus cluster up` (what `pnpm
 * start` runs) generates a random secret for its data folder instead of
 * using the built-in one. Its one node also shows the single-voter rule of
 * `cluster add-node`: a voter it could never commit is refused.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { secretProblem } from "@raftbus/broker";
import { BIN, ROOT, runCli, runCliInProcess } from "../../packages/cli/test/helpers/cluster.ts";
import { freePort, waitFor } from "../support/local-cluster.ts";

const root = mkdtempSync(join(tmpdir(), "raftbus-peer-secrets-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

describe("a node refuses secrets that protect nothing", () => {
  it("exits 2 with the development secret beyond loopback, the .env.example placeholder, or a short secret", async () => {
    const start = (dir: string, flags: string[], env: Record<string, string> = {}) =>
      runCli(["node", "start", "--id", "n1", "--data-dir", join(root, dir), ...flags], { env: { RAFTBUS_CLUSTER_SECRET: "", ...env } });
    const [dev, placeholder, short] = await Promise.all([
      start("dev", ["--host", "0.0.0.0"]),
      start("placeholder", [], { RAFTBUS_CLUSTER_SECRET: "change-me-to-a-long-random-string" }),
      start("short", ["--host", "0.0.0.0", "--cluster-secret", "0123456789"]),
    ]);
    expect(dev.code, dev.stderr).toBe(2);
    expect(dev.stderr).toContain("clusterSecret: the built-in development secret is refused when the node listens beyond loopback (host 0.0.0.0)");
    expect(dev.stderr).toContain("openssl rand -base64 32");
    expect(placeholder.code, placeholder.stderr).toBe(2);
    expect(placeholder.stderr).toContain('clusterSecret: "change-me-to-a-long-random-string" is a placeholder, not a secret');
    expect(short.code, short.stderr).toBe(2);
    expect(short.stderr).toContain("clusterSecret: must be at least 16 characters (got 10)");
    // Refused before anything was opened or bound.
    for (const dir of ["dev", "placeholder", "short"]) expect(existsSync(join(root, dir))).toBe(false);
  });
});

describe("raftbus cluster up", () => {
  it("generates a random secret for its data folder (owner-only file) and its nodes use it, not the built-in one; its single voter refuses to add a voter directly", async () => {
    let base = 0;
    await waitFor("a free port pair", async () => {
      const p = await freePort();
      return p < 65_000 && (await portFree(p + 100)) ? (base = p) : undefined;
    }, 10_000, 0);
    const dataDir = join(root, "up");
    const up = spawn(process.execPath, ["--import", "tsx", BIN, "cluster", "up", "--nodes", "1", "--data-dir", dataDir, "--base-port", String(base)], {
      cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RAFTBUS_CLUSTER_SECRET: "", NO_COLOR: "1" },
    });
    let out = "";
    up.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    up.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
    const exited = new Promise<number | null>((r) => up.on("exit", (code) => r(code)));
    try {
      await waitFor("cluster up to report ready", () => {
        if (up.exitCode !== null) throw new Error(`cluster up exited (${up.exitCode}):\n${out}`);
        return out.includes("cluster ready") ? true : undefined;
      }, 60_000, 100);
      // One voter and a new voter would need both for a majority, and the new one is
      // dialed only once the change commits: refused, with what to do instead.
      const spare = await freePort();
      const direct = await runCliInProcess(["cluster", "add-node", "n2", "--peer", `127.0.0.1:${spare}`, "--client", `127.0.0.1:${spare}`,
        "--servers", `ws://127.0.0.1:${base}`, "--credentials", join(dataDir, "credentials")]);
      expect(direct.code, direct.stderr).toBe(1);
      expect(direct.stderr).toMatch(/^raftbus: INVALID_ARGUMENT: a single voter cannot add a voter directly .*add it as a learner first/);
    } finally {
      up.kill("SIGINT");
    }
    expect(await exited, out).toBe(0);
    const file = join(dataDir, "cluster-secret");
    expect(out).toContain(`generated a cluster secret for this data folder: ${file}`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const secret = readFileSync(file, "utf8").trim();
    expect(secretProblem("clusterSecret", secret, "0.0.0.0")).toBeUndefined();
    // The node said nothing about the development secret: it was started with the generated one.
    const log = readFileSync(join(dataDir, "n1.log"), "utf8");
    expect(log).toContain("node started");
    expect(log).not.toContain("development cluster secret");
  }, 90_000);
});

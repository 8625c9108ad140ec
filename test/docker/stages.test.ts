/**
 * No Docker engine runs here, so the Dockerfile's stages are checked by
 * running their commands outside Docker, in a temporary folder standing in
 * for the image's file system: the build stage's COPY and RUN lines (pnpm
 * install, build, deploy of the production files), then the runtime
 * stage's ENTRYPOINT as written — a node that must become ready (its
 * HEALTHCHECK command passes) and stop cleanly on SIGTERM.
 */
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, waitFor } from "../support/local-cluster.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const dockerfile = readFileSync(join(ROOT, "docker/Dockerfile"), "utf8");
const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n").filter((l) => l !== "" && !l.startsWith("#"));

interface Instruction { readonly op: string; readonly args: string }
interface Stage { readonly name: string; readonly instructions: readonly Instruction[] }

/** The Dockerfile as stages of instructions (continuation lines joined, comments dropped). */
function stages(text: string): Stage[] {
  const lines = text.replace(/\\\n\s*/g, " ").split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  const out: { name: string; instructions: Instruction[] }[] = [];
  for (const line of lines) {
    const [op = "", ...rest] = line.split(/\s+/);
    const args = rest.join(" ");
    if (op === "FROM") out.push({ name: args.split(/\s+AS\s+/i)[1] ?? String(out.length), instructions: [] });
    else out.at(-1)?.instructions.push({ op, args });
  }
  return out;
}

const [build, runtime] = stages(dockerfile) as [Stage, Stage];
const only = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op).map((i) => i.args);
const execForm = (args: string): string[] => JSON.parse(args) as string[];

/** Whether a repository path is left out of the build context by .dockerignore (the patterns used there). */
function isIgnored(rel: string): boolean {
  return ignored.some((p) => {
    const name = p.replace(/^\*\*\//, "");
    return p.startsWith("**/") ? rel.split("/").includes(name) : rel === name || rel.startsWith(`${name}/`);
  });
}

let fs: string | undefined;
afterAll(() => {
  if (fs !== undefined) rmSync(fs, { recursive: true, force: true });
});

describe("docker/Dockerfile", () => {
  it("has a build stage with pnpm and a lean runtime stage: node as PID 1, non-root, /readyz health check", () => {
    expect(build.name).toBe("build");
    expect(only(build, "RUN").join("\n")).toMatch(/pnpm install --frozen-lockfile/);
    expect(runtime.instructions.some((i) => i.op === "RUN" && /pnpm|tsx|npm/.test(i.args))).toBe(false);
    expect(only(runtime, "COPY")).toEqual(["--from=build /app /app"]);
    expect(execForm(only(runtime, "ENTRYPOINT")[0] ?? "[]").slice(0, 2)).toEqual(["node", "/app/dist/bin.js"]);
    expect(only(runtime, "USER")).toEqual(["node"]);
    expect(only(runtime, "HEALTHCHECK").join(" ")).toMatch(/\/readyz/);
    expect(only(runtime, "STOPSIGNAL")).toEqual(["SIGTERM"]);
  });

  it("its stages' commands, run outside Docker, build a runtime folder whose entry point starts a node that becomes ready and stops on SIGTERM", async () => {
    fs = mkdtempSync(join(tmpdir(), "raftbus-image-"));
    const at = (p: string) => join(fs!, p);
    const rewrite = (s: string) => s.replace(/(^|\s|=)\/(app|src|data)\b/g, (_, pre: string, dir: string) => `${pre}${at(dir)}`);
    const env = { ...process.env, NODE_OPTIONS: "", CI: "true" };

    // Build stage: WORKDIR, COPY from the context (minus .dockerignore), RUN.
    let workdir = at("src");
    for (const { op, args } of build.instructions) {
      if (op === "WORKDIR") mkdirSync(workdir = rewrite(args), { recursive: true });
      if (op === "COPY") {
        // Docker's rules: a directory's contents go to the destination; a file goes into
        // it when the destination ends in "/" or there are several sources.
        const parts = args.split(/\s+/);
        const destArg = parts.pop()!;
        const dest = join(workdir, destArg);
        const intoDir = parts.length > 1 || destArg.endsWith("/");
        for (const src of parts) {
          const from = join(ROOT, src);
          const to = !statSync(from).isDirectory() && intoDir ? join(dest, basename(src)) : dest;
          cpSync(from, to, { recursive: true, filter: (f) => !isIgnored(relative(ROOT, f)) });
        }
      }
      if (op === "RUN") {
        if (/^npm install -g pnpm@10$/.test(args)) { // pnpm 10 is already here; check it is the one the stage installs
          expect(spawnSync("pnpm", ["--version"], { encoding: "utf8" }).stdout).toMatch(/^10\./);
          continue;
        }
        const r = spawnSync("sh", ["-c", rewrite(args)], { cwd: workdir, env, encoding: "utf8", timeout: 600_000 });
        expect(r.status, `RUN ${args}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`).toBe(0);
      }
    }

    // Runtime stage: only the deployed folder; no sources, no dev tools.
    const app = at("app");
    const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() && !e.isSymbolicLink() ? files(join(dir, e.name)) : [join(dir, e.name)]));
    const own = files(join(app, "dist"));
    expect(own.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
    for (const dev of ["tsx", "typescript", "vitest", "eslint", ".bin/tsc"]) expect(existsSync(join(app, "node_modules", dev)), dev).toBe(false);
    mkdirSync(at("data"));

    const stageEnv = Object.fromEntries(only(runtime, "ENV").join(" ").match(/[A-Z_]+=\S+/g)!.map((kv) => [kv.split("=")[0]!, kv.split("=")[1]!]));
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const nodeEnv = {
      ...env, ...stageEnv,
      RAFTBUS_HOST: "127.0.0.1", RAFTBUS_DATA_DIR: at("data"), RAFTBUS_CLIENT_PORT: String(clientPort), RAFTBUS_PEER_PORT: String(peerPort),
      RAFTBUS_ID: "n1", RAFTBUS_PEERS: `n1=127.0.0.1:${peerPort}:${clientPort}`, RAFTBUS_CLUSTER_SECRET: "stage-test-secret-0123456789",
    };
    const [command, ...args] = execForm(only(runtime, "ENTRYPOINT")[0]!).map(rewrite);
    const node = spawn(command === "node" ? process.execPath : command!, args, { cwd: app, env: nodeEnv, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    node.stdout.on("data", (d: Buffer) => (output += d.toString()));
    node.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => node.on("exit", (code) => resolve(code)));
    try {
      const health = execForm(only(runtime, "HEALTHCHECK").join(" ").replace(/^.*?CMD\s+/, ""));
      await waitFor("the HEALTHCHECK command to pass", () => {
        if (node.exitCode !== null) throw new Error(`the node exited (${node.exitCode}):\n${output}`);
        const r = spawnSync(process.execPath, health.slice(1), { env: nodeEnv, timeout: 5000 });
        return r.status === 0 ? true : undefined;
      }, 120_000, 250);
      // The image serves the live dashboard: its page and the bundle built in the build stage.
      const page = await fetch(`http://127.0.0.1:${clientPort}/`);
      expect(page.status).toBe(200);
      const script = /src="([^"]+\.js)"/.exec(await page.text())?.[1];
      expect(script, "the dashboard page loads a script").toBeDefined();
      expect((await fetch(new URL(script!, `http://127.0.0.1:${clientPort}/`))).status).toBe(200);
    } finally {
      node.kill("SIGTERM");
    }
    expect(await exited, output.slice(-2000)).toBe(0);
  }, 900_000);
});


/**
 * The SDK as other projects get it: `pnpm pack` of @raftbus/client, then
 * three fresh projects in temporary folders install the tarball (its
 * dependencies come from the npm registry) and use it against a running
 * three-node cluster — a plain-JavaScript ESM Node project, a TypeScript
 * project built with `tsc`, and a browser page bundled with esbuild and run
 * in headless Chromium. The tarball is packed once per run.
 */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../support/browser.ts";
import { LocalCluster, freePort } from "../support/local-cluster.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Children run the installed package, not the workspace sources: no source condition for them. */
const ENV = { ...process.env, NODE_OPTIONS: "", npm_config_update_notifier: "false" };

let dir: string;
let tarball: string;
let cluster: LocalCluster;
/** Port of the page that runs the browser bundle: its origin is the one the cluster lets open WebSockets. */
let pagePort: number;

function run(command: string, args: readonly string[], options: SpawnSyncOptions = {}): string {
  const r = spawnSync(command, args, { env: ENV, encoding: "utf8", timeout: 300_000, ...options });
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`);
  return String(r.stdout);
}

/** A fresh project folder with the tarball installed. */
function project(name: string, packageJson: Record<string, unknown>): string {
  const at = join(dir, name);
  mkdirSync(at);
  writeFileSync(join(at, "package.json"), JSON.stringify({ name, private: true, type: "module", ...packageJson }, null, 2));
  run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", tarball], { cwd: at });
  return at;
}

/** What each project does with the SDK: publish one message, read it back by offset, report both. */
const USE_SDK = (connectFrom: string) => `
  const client = await connect({ servers, name: "install-test" });
  const ack = await client.publish("sdk.install", { from: ${JSON.stringify(connectFrom)} });
  const sub = await client.subscribe("sdk.install", { from: { offset: ack.offset }, guarantee: "at-most-once" });
  let got;
  for await (const msg of sub) { got = msg.json(); break; }
  await sub.unsubscribe();
  await client.close();
  return { offset: ack.offset, got };
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "raftbus-sdk-"));
  // prepack builds the package first.
  run("pnpm", ["--filter", "@raftbus/client", "pack", "--pack-destination", dir], { cwd: ROOT });
  const name = readdirSync(dir).find((f) => f.endsWith(".tgz"));
  if (name === undefined) throw new Error(`pnpm pack left no tarball in ${dir}`);
  tarball = join(dir, name);
  pagePort = await freePort();
  cluster = await LocalCluster.start({ extraArgs: ["--log-level", "warn", "--allowed-origins", `http://127.0.0.1:${pagePort}`] });
}, 600_000);

afterAll(async () => {
  await cluster?.destroy();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("@raftbus/client tarball", () => {
  it("holds the build, its declarations and the client sources — no tests, no server code", () => {
    const files = run("tar", ["tzf", tarball]).trim().split("\n").map((f) => f.replace(/^package\//, ""));
    expect(files).toContain("package.json");
    expect(files).toContain("dist/node.js");
    expect(files).toContain("dist/node.d.ts");
    expect(files).toContain("dist/index.js");
    for (const f of files) {
      expect(f, `${f} is outside dist/ and src/`).toMatch(/^(dist\/|src\/|package\.json$|README\.md$)/);
      expect(f).not.toMatch(/(^|\/)test\/|\.test\.|\.tsbuildinfo$/);
    }
    // Its code imports only itself and its declared dependencies (no server package).
    const imports = run("sh", ["-c", `tar xzOf ${JSON.stringify(tarball)} --wildcards 'package/dist/*.js' | grep -oE '(from|import) "[^"]+"' | sort -u`])
      .trim().split("\n").map((l) => l.replace(/^(from|import) "|"$/g, ""));
    const foreign = imports.filter((spec) => !spec.startsWith(".") && !/^(ws|msgpackr|@sinclair\/typebox(\/.*)?|@noble\/hashes\/.*)$/.test(spec));
    expect(foreign).toEqual([]);
    // The figure the README quotes.
    console.log(`@raftbus/client tarball: ${(statSync(tarball).size / 1024).toFixed(1)} KiB, ${files.length} files`);
  });

  it("works in a plain-JavaScript ESM Node project", () => {
    const at = project("plain-esm", {});
    writeFileSync(join(at, "main.js"), `import { connect } from "@raftbus/client/node";
const servers = process.argv[2].split(",");
const result = await (async () => { ${USE_SDK("plain-esm")} })();
console.log(JSON.stringify(result));
`);
    const out = JSON.parse(run(process.execPath, ["main.js", cluster.servers().join(",")], { cwd: at })) as { offset: number; got: unknown };
    expect(out.got).toEqual({ from: "plain-esm" });
  }, 300_000);

  it("works in a TypeScript project built with tsc", () => {
    const at = project("tsc-built", { scripts: {} });
    writeFileSync(join(at, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, outDir: "out", lib: ["ES2022", "DOM"], types: [] },
      include: ["main.ts"],
    }));
    writeFileSync(join(at, "main.ts"), `import { connect, isRaftbusError, type PublishResult, type RaftbusClient } from "@raftbus/client/node";
declare const process: { argv: string[] };
const servers: string[] = process.argv[2]!.split(",");
async function main(): Promise<{ offset: number; got: unknown }> {
  const client: RaftbusClient = await connect({ servers, name: "install-test" });
  const ack: PublishResult = await client.publish("sdk.install", { from: "tsc-built" });
  const sub = await client.subscribe("sdk.install", { from: { offset: ack.offset }, guarantee: "at-most-once" });
  let got: unknown;
  for await (const msg of sub) { got = msg.json(); break; }
  await sub.unsubscribe();
  try { await client.topics.info("sdk.no-such-topic"); } catch (err) { if (!isRaftbusError(err, "TOPIC_NOT_FOUND")) throw err; }
  await client.close();
  return { offset: ack.offset, got };
}
console.log(JSON.stringify(await main()));
`);
    run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "."], { cwd: at });
    const out = JSON.parse(run(process.execPath, ["out/main.js", cluster.servers().join(",")], { cwd: at })) as { got: unknown };
    expect(out.got).toEqual({ from: "tsc-built" });
  }, 300_000);

  it("works in a browser page bundled with esbuild (headless Chromium)", async (ctx) => {
    const launched = await launchChromium();
    if ("unavailable" in launched) {
      console.warn(`SKIPPED browser bundle test: ${launched.unavailable}`);
      ctx.skip();
      return;
    }
    const at = project("browser-bundle", {});
    writeFileSync(join(at, "entry.js"), `import { connect } from "@raftbus/client";
window.useSdk = async (servers) => { ${USE_SDK("browser")} };
`);
    const esbuild = await import("esbuild");
    const built = await esbuild.build({
      absWorkingDir: at, entryPoints: ["entry.js"], bundle: true, format: "esm", platform: "browser", target: "es2022",
      minify: true, outfile: "out/bundle.js", logLevel: "silent", metafile: true,
    });
    const inputs = Object.keys(built.metafile.inputs);
    expect(inputs.some((i) => i.includes("node_modules/ws/")), "the browser bundle pulled in ws").toBe(false);
    const bundleBytes = statSync(join(at, "out/bundle.js")).size;
    console.log(`@raftbus/client browser bundle (esbuild, minified): ${(bundleBytes / 1024).toFixed(1)} KiB`);

    const server: Server = createServer((req, res) => {
      if (req.url === "/bundle.js") {
        res.writeHead(200, { "content-type": "text/javascript" }).end(spawnSync("cat", [join(at, "out/bundle.js")]).stdout);
      } else {
        res.writeHead(200, { "content-type": "text/html" }).end('<!doctype html><script type="module" src="/bundle.js"></script>');
      }
    });
    await new Promise<void>((resolve) => server.listen(pagePort, "127.0.0.1", resolve));
    const { browser } = launched;
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (err) => errors.push(err.message));
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await page.waitForFunction(() => typeof (window as unknown as { useSdk?: unknown }).useSdk === "function", undefined, { timeout: 30_000 });
      const out = await page.evaluate(async (servers) => (window as unknown as { useSdk: (s: string[]) => Promise<{ got: unknown }> }).useSdk(servers), cluster.servers());
      expect(errors).toEqual([]);
      expect(out.got).toEqual({ from: "browser" });
    } finally {
      await browser.close();
      server.close();
    }
  }, 600_000);
});

/**
 * The SDK's module boundaries (STYLE.md: one-way dependencies): the protocol
 * is pure, and no core SDK file imports `ws` or a Node built-in, so the same
 * code runs in a browser with the global WebSocket. Only `node.ts` may.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const src = join(import.meta.dirname, "..", "src");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
  });
}

function imports(path: string): string[] {
  return [...readFileSync(path, "utf8").matchAll(/^\s*(?:import|export)[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1] ?? "");
}

describe("layering", () => {
  it("only node.ts imports ws or node built-ins", () => {
    for (const file of files(src)) {
      const rel = relative(src, file);
      if (rel === "node.ts") continue;
      const bad = imports(file).filter((spec) => spec === "ws" || spec.startsWith("node:"));
      expect(bad, rel).toEqual([]);
    }
  });

  it("the protocol imports nothing from the SDK and no transport", () => {
    for (const file of files(join(src, "protocol"))) {
      // Inside protocol/ only (schemas/ may reach ../), plus the codec's msgpack and the schemas' TypeBox.
      const bad = imports(file).filter((spec) => !resolve(dirname(file), spec).startsWith(join(src, "protocol"))
        && spec !== "msgpackr" && spec !== "@sinclair/typebox" && !spec.startsWith("@sinclair/typebox/"));
      expect(bad, relative(src, file)).toEqual([]);
    }
  });

  it("dependencies point one way: protocol ← transport ← connection ← session ← features ← client", () => {
    const rank: Record<string, number> = {
      "transport.ts": 1, "connection.ts": 2, "session.ts": 3,
      "payload.ts": 4, "publish.ts": 5, "publisher.ts": 6, "msg.ts": 6, "subscription.ts": 7, "request-reply.ts": 8, "admin.ts": 4,
      "client.ts": 9, "index.ts": 10, "node.ts": 11,
    };
    for (const [file, r] of Object.entries(rank)) {
      for (const spec of imports(join(src, file))) {
        const target = spec.replace(/^\.\//, "");
        if (target in rank) expect(rank[target], `${file} imports ${target}`).toBeLessThan(r);
      }
    }
  });
});

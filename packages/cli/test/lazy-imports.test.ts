/**
 * The CLI starts fast because it loads only what a command needs: the node
 * (broker, Raft, LevelDB, pino, tsyringe) only for `node start` / `cluster
 * up`, the SDK and its socket and msgpack libraries only when a command
 * connects. This walks the static (eagerly evaluated) import graph from
 * bin.ts and checks that none of those is in it; `import type` and dynamic
 * `import()` do not count.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));
const CLIENT_SRC = fileURLToPath(new URL("../../client/src/", import.meta.url));

/** Module specifiers a file imports eagerly (value imports and re-exports). */
function staticImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, false);
  const specs: string[] = [];
  for (const node of source.statements) {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly && ts.isStringLiteral(node.moduleSpecifier)) {
      const named = node.importClause?.namedBindings;
      const onlyTypes = node.importClause !== undefined && node.importClause.name === undefined && named !== undefined
        && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      if (!onlyTypes) specs.push(node.moduleSpecifier.text);
    }
    if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      specs.push(node.moduleSpecifier.text);
    }
  }
  return specs;
}

/** Every package (bare specifier) reachable through eager imports from `entry`, with the chain that reaches it. */
function eagerPackages(entry: string, root = SRC): Map<string, string> {
  const packages = new Map<string, string>();
  const seen = new Set<string>();
  const walk = (file: string, chain: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith(".")) walk(resolve(dirname(file), spec), `${chain} → ${spec}`);
      else if (!spec.startsWith("node:") && !packages.has(spec)) packages.set(spec, `${chain} → ${spec}`);
    }
  };
  walk(resolve(root, entry), entry);
  return packages;
}

describe("raftbus CLI start-up", () => {
  it("bin.ts eagerly loads neither the node nor the SDK's socket and codec", () => {
    const loaded = eagerPackages("bin.ts");
    const heavy = ["@raftbus/broker", "@raftbus/raft", "@raftbus/client", "@raftbus/client/node", "@raftbus/client/protocol",
      "level", "classic-level", "pino", "tsyringe", "reflect-metadata", "ws", "msgpackr"];
    for (const name of heavy) expect(loaded.get(name), `eagerly imported: ${loaded.get(name)}`).toBeUndefined();
    // What it does load: the argument parser and the dependency-free protocol vocabulary.
    expect([...loaded.keys()].sort()).toEqual(["@raftbus/client/vocabulary", "yargs"]);
  });

  it("the SDK's vocabulary entry, which --help loads, has no dependencies at all", () => {
    expect([...eagerPackages("vocabulary.ts", CLIENT_SRC).values()]).toEqual([]);
  });

  it("a command that connects loads the SDK lazily, through util/connect.ts", () => {
    expect(eagerPackages("util/connect.ts").has("@raftbus/client/node")).toBe(true);
    expect(eagerPackages("composition/root.ts").has("@raftbus/broker")).toBe(true);
  });
});

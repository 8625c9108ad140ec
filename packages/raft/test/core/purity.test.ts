/**
 * The Raft core is pure (STYLE.md practice 1): no timers, clocks, ambient
 * randomness, process access or Node imports in packages/raft/src/core.
 * Belt and braces with the eslint rule: this reads the source itself.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const CORE_DIR = join(dirname(fileURLToPath(import.meta.url)), "../../src/core");

const IMPURE_GLOBALS = new Set([
  "setTimeout", "setInterval", "setImmediate", "clearTimeout", "clearInterval", "clearImmediate",
  "queueMicrotask", "performance", "process", "require", "fetch", "WebSocket", "crypto", "globalThis",
]);
const IMPURE_TEXT = /\b(setTimeout|setInterval|setImmediate|Date\.now|Math\.random|new\s+Date)\b|["']node:/;

/** Why `source` is not pure, one line per finding (empty when pure). */
function impurities(file: string, source: string): string[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const at = (n: ts.Node) => `${file}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      const spec = n.moduleSpecifier.text;
      if (!spec.startsWith("./")) found.push(`${at(n)}: imports ${spec} (the core imports only its own modules)`);
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      found.push(`${at(n)}: dynamic import`);
    } else if (ts.isPropertyAccessExpression(n) && ts.isIdentifier(n.expression)) {
      const name = `${n.expression.text}.${n.name.text}`;
      if (name === "Date.now" || name === "Math.random") found.push(`${at(n)}: ${name}`);
    } else if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === "Date") {
      found.push(`${at(n)}: new Date`);
    } else if (ts.isIdentifier(n) && IMPURE_GLOBALS.has(n.text) && !isPropertyName(n)) {
      found.push(`${at(n)}: ${n.text}`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  // The same words in the code with comments removed, in case the AST walk misses a form.
  const code = ts.createPrinter({ removeComments: true }).printFile(sf);
  const m = IMPURE_TEXT.exec(code);
  if (m !== null && found.length === 0) found.push(`${file}: mentions ${m[0]}`);
  return found;
}

/** `x` in `a.x`, `{ x: 1 }` or `x() {}`: a property name, not a reference to a global. */
function isPropertyName(n: ts.Identifier): boolean {
  const p = n.parent;
  return (ts.isPropertyAccessExpression(p) && p.name === n) || (ts.isPropertyAssignment(p) && p.name === n) ||
    ((ts.isMethodDeclaration(p) || ts.isPropertyDeclaration(p) || ts.isPropertySignature(p)) && p.name === n);
}

describe("purity of the Raft core (STYLE.md practice 1)", () => {
  const files = readdirSync(CORE_DIR).filter((f) => f.endsWith(".ts"));

  it("the core directory has the expected modules", () => {
    expect(files).toEqual(expect.arrayContaining(["raft.ts", "log.ts", "rand.ts", "progress.ts"]));
  });

  it.each(files)("%s uses no timer, clock, ambient randomness, process or Node import", (f) => {
    expect(impurities(f, readFileSync(join(CORE_DIR, f), "utf8"))).toEqual([]);
  });

  it.each([
    "const t = Date.now();",
    "const r = Math.random();",
    "const d = new Date();",
    "setTimeout(() => {}, 1);",
    "import { readFileSync } from \"node:fs\";",
    "import { Level } from \"level\";",
    "const env = process.env;",
    "const x = await import(\"./raft.ts\");",
  ])("the check itself catches: %s", (bad) => {
    expect(impurities("sample.ts", bad)).not.toEqual([]);
  });

  it("the check ignores comments and property names", () => {
    expect(impurities("sample.ts", "// never Math.random or Date.now here\nconst o = { process: 1 }; o.process;")).toEqual([]);
  });
});

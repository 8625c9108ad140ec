/**
 * docs/protocol.md and docs/schema/ restate the wire schemas; this keeps
 * them in step. Every request kind, push and shape must have its generated
 * field table in the doc, and every example its exact bytes — so a new
 * request kind fails here until `pnpm protocol:gen` has documented it (then
 * describe its meaning in the prose too). The examples' bytes are also
 * checked against the codec directly.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DOC_PATH, jsonSchemas, renderDoc, SCHEMA_DIR } from "../../../scripts/protocol-docs.ts";
import { decodeFrame, encodeFrame, REQUEST_KINDS } from "../src/protocol/index.ts";
import { PROTOCOL_EXAMPLES } from "./protocol-examples.ts";

/** Bytes as plain arrays (decoded bytes are Buffers in Node), for comparing. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

describe("docs/protocol.md and docs/schema/ follow the code", () => {
  const doc = readFileSync(DOC_PATH, "utf8");

  it("the generated field tables and examples are current (else run pnpm protocol:gen)", () => {
    expect(doc).toBe(renderDoc(doc));
  });

  it("documents every request kind", () => {
    for (const kind of REQUEST_KINDS) expect(doc, kind).toContain(`#### \`${kind}\``);
  });

  it("the JSON Schema files are current (else run pnpm protocol:gen)", () => {
    const expected = jsonSchemas();
    expect(readdirSync(SCHEMA_DIR).sort()).toEqual([...expected.keys()].sort());
    for (const [name, text] of expected) expect(readFileSync(`${SCHEMA_DIR}${name}`, "utf8"), name).toBe(text);
  });

  it.each(PROTOCOL_EXAMPLES.map((e) => [e.title, e] as const))("example %s round-trips through the codec", (_t, e) => {
    expect(plain(decodeFrame(encodeFrame(e.frame)))).toEqual(plain(e.frame));
  });
});

/**
 * Generates the parts of docs/protocol.md that restate code — the field
 * tables of every request, response and push body, and the hex examples —
 * and the JSON Schema files in docs/schema/, all from the wire schemas in
 * packages/client/src/protocol (the one place bodies are defined).
 * packages/client/test/protocol-doc.test.ts fails when they are stale.
 *
 *   pnpm protocol:gen
 */
import { readFileSync, writeFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { encodeFrame, REQUESTS, REQUEST_KINDS, schemas } from "../packages/client/src/protocol/index.ts";
import { PROTOCOL_EXAMPLES } from "../packages/client/test/protocol-examples.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
export const DOC_PATH = `${ROOT}docs/protocol.md`;
export const SCHEMA_DIR = `${ROOT}docs/schema/`;

/** A TypeBox schema, read as the JSON Schema object it is. */
type TSchema = object;
type S = Record<string, unknown>;
const KIND = Symbol.for("TypeBox.Kind");
const OPTIONAL = Symbol.for("TypeBox.Optional");
const kindOf = (s: S) => String((s as Record<symbol, unknown>)[KIND]);

/** A field's type in words, e.g. `integer ≥ 0`, `PublishMessage[] (≤ 100000)`. */
export function typeName(s: S): string {
  const k = kindOf(s);
  if (k === "Object" && typeof s["title"] === "string") return `\`${s["title"]}\``;
  switch (k) {
    case "String": return `${s["minLength"] === 1 ? "non-empty string" : "string"}${s["maxLength"] !== undefined ? ` (≤ ${s["maxLength"]} chars)` : ""}`;
    case "Integer": return `integer ≥ ${s["minimum"]}${s["maximum"] !== undefined && s["maximum"] !== Number.MAX_SAFE_INTEGER ? ` and ≤ ${s["maximum"]}` : ""}`;
    case "Number": return "number";
    case "Boolean": return "boolean";
    case "Uint8Array": return "bytes (msgpack bin)";
    case "Null": return "null";
    case "Unknown": return "any";
    case "Literal": return `\`${JSON.stringify(s["const"])}\``;
    case "Array": return `${typeName(s["items"] as S)}[] (≤ ${s["maxItems"]})`;
    case "Record": {
      const value = Object.values(s["patternProperties"] as Record<string, S>)[0]!;
      return `map of string → ${typeName(value)} (≤ ${s["maxProperties"]} keys)`;
    }
    case "Union": return typeof s["title"] === "string" ? `\`${s["title"]}\`` : (s["anyOf"] as S[]).map(typeName).join(" \\| ");
    case "Object": return "map";
    default: throw new Error(`protocol-docs: no wording for schema kind ${k}`);
  }
}

/** A markdown table of an object schema's fields. */
export function fieldTable(s: S): string {
  const props = Object.entries((s["properties"] ?? {}) as Record<string, S>);
  if (props.length === 0) return "(no fields: `{}`)\n";
  const rows = props.map(([name, p]) => {
    const optional = (p as Record<symbol, unknown>)[OPTIONAL] === "Optional";
    const description = typeof p["description"] === "string" ? p["description"] : kindOf(p) === "Object" || typeof p["title"] === "string" ? "see below" : "";
    return `| \`${name}\` | ${typeName(p)} | ${optional ? "optional" : "required"} | ${description.replace(/\|/g, "\\|")} |`;
  });
  return ["| field | type | | meaning |", "|---|---|---|---|", ...rows].join("\n") + "\n";
}

/** Every named shape a schema refers to, depth first. */
function namedShapes(s: S, into: Map<string, S>): void {
  const title = s["title"];
  if (typeof title === "string" && !into.has(title)) into.set(title, s);
  for (const child of [
    ...Object.values((s["properties"] ?? {}) as Record<string, S>),
    ...((s["anyOf"] ?? []) as S[]), ...(s["items"] ? [s["items"] as S] : []),
    ...Object.values((s["patternProperties"] ?? {}) as Record<string, S>),
  ]) namedShapes(child, into);
}

const SERVED_BY = {
  leader: "the leader",
  any: "any node",
  read: "the leader (linearizable, the default) or, with `consistency: \"stale\"`, any node",
} as const;

/** The generated body section of docs/protocol.md. */
export function renderBodies(): string {
  const out: string[] = [];
  const shapes = new Map<string, S>();
  for (const kind of REQUEST_KINDS) {
    const spec = REQUESTS[kind];
    out.push(`#### \`${kind}\` — served by ${SERVED_BY[spec.servedBy]}\n`);
    out.push(`Request body${typeof spec.request.title === "string" ? ` (\`${spec.request.title}\`)` : ""}:\n\n${fieldTable(spec.request as S)}`);
    out.push(`Response body${typeof spec.response.title === "string" ? ` (\`${spec.response.title}\`)` : ""}:\n\n${fieldTable(spec.response as S)}`);
    for (const s of [spec.request, spec.response]) for (const p of Object.values(((s as S)["properties"] ?? {}) as Record<string, S>)) namedShapes(p, shapes);
  }
  out.push("#### Pushes\n");
  for (const push of Object.values(schemas.PUSH_SCHEMAS)) {
    out.push(`\`${push.title}\` (\`t: "${(push.properties.t as S)["const"]}"\`):\n\n${fieldTable(push as S)}`);
    for (const p of Object.values(push.properties as Record<string, S>)) namedShapes(p, shapes);
  }
  out.push("#### Handshake frames\n");
  for (const frame of [schemas.HelloFrame, schemas.WelcomeFrame, schemas.RefusedFrame]) {
    out.push(`\`${frame.title}\`:\n\n${fieldTable(frame as S)}`);
    for (const p of Object.values(frame.properties as Record<string, S>)) namedShapes(p, shapes);
  }
  out.push("#### Shapes used above\n");
  for (const [name, s] of [...shapes].sort(([a], [b]) => a.localeCompare(b))) {
    if (kindOf(s) === "Union") out.push(`\`${name}\`: ${(s["anyOf"] as S[]).map((v) => (typeof v["title"] === "string" ? `\`${v["title"]}\`` : typeName(v))).join(" or ")}${typeof s["description"] === "string" ? ` — ${s["description"]}` : ""}\n`);
    else out.push(`\`${name}\`:\n\n${fieldTable(s)}`);
  }
  return out.join("\n");
}

const hexOf = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex").replace(/(.{2})/g, "$1 ").trim().replace(/(.{96})/g, "$1\n").trimEnd();

/** The generated examples section: each frame as JSON-like text and its exact msgpack bytes (the codec test checks them). */
export function renderExamples(): string {
  return PROTOCOL_EXAMPLES.map((e) => `**${e.title}**\n\n\`\`\`\n${e.shown}\n\`\`\`\n\n\`\`\`\n${hexOf(encodeFrame(e.frame))}\n\`\`\`\n`).join("\n");
}

/** Replace the text between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`. */
export function withSection(doc: string, name: string, body: string): string {
  const start = `<!-- generated:${name} (pnpm protocol:gen) -->`;
  const end = `<!-- /generated:${name} -->`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i < 0 || j < i) throw new Error(`docs/protocol.md has no ${start} … ${end} section`);
  return `${doc.slice(0, i + start.length)}\n\n${body.trim()}\n\n${doc.slice(j)}`;
}

/** The documentation as it should be. */
export function renderDoc(current: string): string {
  return withSection(withSection(current, "bodies", renderBodies()), "examples", renderExamples());
}

/** JSON Schema (draft 2020-12 keywords) of every body and frame, by file name. Bytes are marked `x-msgpack: bin`. */
export function jsonSchemas(): Map<string, string> {
  const plain = (s: unknown): unknown => JSON.parse(JSON.stringify(s, (_k, v: unknown) =>
    v !== null && typeof v === "object" && (v as Record<string, unknown>)["type"] === "Uint8Array"
      ? { ...(v as Record<string, unknown>), type: undefined, "x-msgpack": "bin" } : v));
  const file = (id: string, s: TSchema) => `${JSON.stringify({ $schema: "https://json-schema.org/draft/2020-12/schema", $id: id, ...(plain(s) as object) }, null, 2)}\n`;
  const out = new Map<string, string>();
  for (const kind of REQUEST_KINDS) {
    out.set(`request.${kind}.json`, file(`request.${kind}`, REQUESTS[kind].request));
    out.set(`response.${kind}.json`, file(`response.${kind}`, REQUESTS[kind].response));
  }
  for (const [t, s] of Object.entries(schemas.FRAME_SCHEMAS)) out.set(`frame.${t}.json`, file(`frame.${t}`, s));
  out.set("frame.req.json", file("frame.req", schemas.RequestEnvelope));
  out.set("frame.res.ok.json", file("frame.res.ok", schemas.OkResponseEnvelope));
  out.set("frame.res.error.json", file("frame.res.error", schemas.ErrorResponseFrame));
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(DOC_PATH, renderDoc(readFileSync(DOC_PATH, "utf8")));
  mkdirSync(SCHEMA_DIR, { recursive: true });
  for (const f of readdirSync(SCHEMA_DIR)) rmSync(`${SCHEMA_DIR}${f}`);
  for (const [name, text] of jsonSchemas()) writeFileSync(`${SCHEMA_DIR}${name}`, text);
  console.log(`protocol-docs: wrote docs/protocol.md sections and ${jsonSchemas().size} files in docs/schema/`);
}

/**
 * The bytes a message MAC covers, shared by system-event signatures
 * (sys-signature.ts) and topic signatures (topic-signature.ts) so the two
 * cannot drift: every field length-prefixed (u32, big-endian), then the
 * number of headers and each header's name and value, sorted by name,
 * leaving out the header that carries the signature itself.
 */

const utf8 = new TextEncoder();

/** `fields` (the first is the caller's domain label) and `headers` without `signatureHeader`, length-prefixed. */
export function macInput(fields: readonly (string | Uint8Array)[], headers: Readonly<Record<string, string>>, signatureHeader: string): Uint8Array {
  const parts: Uint8Array[] = [];
  const field = (v: string | Uint8Array): void => {
    const b = typeof v === "string" ? utf8.encode(v) : v;
    parts.push(u32(b.length), b);
  };
  for (const f of fields) field(f);
  const keys = Object.keys(headers).filter((k) => k !== signatureHeader).sort();
  parts.push(u32(keys.length));
  for (const k of keys) {
    field(k);
    field(headers[k]!);
  }
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

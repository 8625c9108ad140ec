/**
 * CRC-32 (IEEE 802.3, the zlib/gzip polynomial) for framing records on disk.
 * Node ≥ 20.15 ships a native `zlib.crc32`; older runtimes fall back to a
 * table-driven implementation that produces the same values, so data written
 * by one is readable by the other.
 */
import * as zlib from "node:zlib";

/** The reflected IEEE polynomial, as zlib uses it. */
const POLY = 0xedb88320;

/** 256-entry lookup table: one entry per byte value, built once at load. */
const TABLE: Uint32Array = buildTable();

function buildTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? POLY ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/**
 * Table-driven CRC-32 of `data`, continuing from `seed` (the CRC of the bytes
 * before it), like `zlib.crc32(data, seed)`. Exported for tests; use crc32.
 */
export function crc32Portable(data: Uint8Array, seed = 0): number {
  let c = (seed ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) {
    c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

type Crc32 = (data: Uint8Array, seed?: number) => number;

// Feature-detect rather than check versions: `zlib.crc32` appeared in 20.15/22.2.
const native: unknown = (zlib as Record<string, unknown>)["crc32"];

/** CRC-32 of `data` continuing from `seed`; native when the runtime has it. */
export const crc32: Crc32 = typeof native === "function"
  ? (data, seed = 0) => (native as Crc32)(data, seed) >>> 0
  : crc32Portable;

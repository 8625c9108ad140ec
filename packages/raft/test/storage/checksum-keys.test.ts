/** The CRC and the key layout: known vectors, both CRC implementations agree, keys sort like indexes. */
import fc from "fast-check";
import * as zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { crc32, crc32Portable } from "../../src/storage/checksum.ts";
import { LOG_KEY_END, describeKey, logKey, parseLogKey, HARD_STATE_KEY } from "../../src/storage/keys.ts";

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

describe("checksum", () => {
  it("CRC-32 of '123456789' is 0xcbf43926 (the IEEE check value)", () => {
    const check = new TextEncoder().encode("123456789");
    expect(crc32(check)).toBe(0xcbf43926);
    expect(crc32Portable(check)).toBe(0xcbf43926);
  });

  it("the portable CRC matches zlib's, including when continued from a seed", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 50 }), (a, b) => {
      expect(crc32Portable(a)).toBe(zlib.crc32(a));
      expect(crc32Portable(b, crc32Portable(a))).toBe(crc32(Uint8Array.from([...a, ...b])));
    }), { numRuns: 200 });
  });
});

describe("keys", () => {
  it("log keys sort as bytes exactly like their indexes, across the 2^32 boundary", () => {
    const index = fc.oneof(fc.integer({ min: 0, max: 2 ** 33 }), fc.constantFrom(0, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER));
    fc.assert(fc.property(index, index, (a, b) => {
      expect(Math.sign(compareBytes(logKey(a), logKey(b)))).toBe(Math.sign(a - b));
      expect(parseLogKey(logKey(a))).toBe(a);
      expect(compareBytes(logKey(a), LOG_KEY_END)).toBeLessThan(0);
    }), { numRuns: 300 });
  });

  it("describeKey names records for error messages", () => {
    expect(describeKey(logKey(42))).toBe("log[42]");
    expect(describeKey(HARD_STATE_KEY)).toBe("hardState");
    expect(describeKey(Uint8Array.of(0x99, 1))).toBe("key 0x9901");
    expect(parseLogKey(Uint8Array.of(0x4c, 1))).toBeUndefined();
  });

  it("negative or fractional indexes are a bug", () => {
    expect(() => logKey(-1)).toThrow(/not a non-negative safe integer/);
    expect(() => logKey(1.5)).toThrow(/not a non-negative safe integer/);
  });
});

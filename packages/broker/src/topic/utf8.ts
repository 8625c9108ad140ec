/**
 * UTF-8 size of a JS string without allocating an encoded copy. Limits in
 * raftbus are stated in bytes (what travels and what LevelDB stores), while JS
 * strings count UTF-16 code units, so every byte limit goes through here.
 */

/**
 * Bytes `s` takes as UTF-8. A lone surrogate counts 3 bytes, the size of the
 * U+FFFD that `TextEncoder` writes in its place.
 */
export function utf8ByteLength(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      bytes += 4; // a surrogate pair is one code point above U+FFFF
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

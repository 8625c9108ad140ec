/** Random identifiers from the platform CSPRNG (Node 20 and browsers both have `globalThis.crypto`). */

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/**
 * A random id of `length` characters from [a-z0-9]: valid as a topic segment,
 * so a client id can name the client's reply topic. 16 characters carry
 * ~82 bits, ample to keep ids of concurrent clients and messages apart.
 */
export function randomId(length = 16): string {
  const bytes = new Uint8Array(length);
  globalThis.crypto.getRandomValues(bytes);
  let id = "";
  for (const b of bytes) id += ALPHABET[b % ALPHABET.length] ?? "";
  return id;
}

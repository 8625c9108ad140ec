/**
 * Signed topics and end-to-end encrypted payloads, in the SDK (issue 13,
 * part 4): what a signature covers, which keys verify it, and AES-GCM
 * payloads bound to their topic and key.
 */
import { describe, expect, it } from "vitest";
import {
  RaftbusError, decryptPayload, encryptPayload, formatPayloadKey, formatTopicKey, generatePayloadKey, parsePayloadKey, parseTopicKey,
  signTopicMessage, verifyTopicMessage, TOPIC_SIGNATURE_HEADER,
} from "../src/index.ts";
import { buildMessage } from "../src/publish.ts";

const utf8 = new TextEncoder();
const key = { name: "deploy", key: new Uint8Array(32).fill(7) };
const other = { name: "deploy", key: new Uint8Array(32).fill(8) };

function signed(m: { topic: string; id: string; payload: Uint8Array; headers: Record<string, string> }, k = key) {
  return { ...m, headers: { ...m.headers, [TOPIC_SIGNATURE_HEADER]: signTopicMessage(m, k) } };
}

describe("topic signatures", () => {
  const base = { topic: "deploy.web", id: "m-1", payload: utf8.encode('{"v":2}'), headers: { b: "2", a: "1" } };

  it("verify under the key that made them, whatever the header order", () => {
    const m = signed(base);
    expect(verifyTopicMessage(m, [key])).toBe("verified");
    expect(verifyTopicMessage({ ...m, headers: { a: "1", [TOPIC_SIGNATURE_HEADER]: m.headers[TOPIC_SIGNATURE_HEADER], b: "2" } }, [key])).toBe("verified");
  });

  it("cover the topic, the id, the payload and every header", () => {
    const m = signed(base);
    expect(verifyTopicMessage({ ...m, topic: "deploy.db" }, [key])).toBe("invalid");
    expect(verifyTopicMessage({ ...m, id: "m-2" }, [key])).toBe("invalid");
    expect(verifyTopicMessage({ ...m, payload: utf8.encode('{"v":3}') }, [key])).toBe("invalid");
    expect(verifyTopicMessage({ ...m, headers: { ...m.headers, a: "x" } }, [key])).toBe("invalid");
    expect(verifyTopicMessage({ ...m, headers: { ...m.headers, extra: "1" } }, [key])).toBe("invalid");
  });

  it("say when the message is not signed, made with another secret, or names a key not held", () => {
    expect(verifyTopicMessage(base, [key])).toBe("not-signed");
    expect(verifyTopicMessage(signed(base, other), [key])).toBe("invalid");
    expect(verifyTopicMessage(signed(base, { name: "ops", key: key.key }), [key])).toBe("unknown-key");
    expect(verifyTopicMessage({ ...base, headers: { [TOPIC_SIGNATURE_HEADER]: "v1.deploy.short" } }, [key])).toBe("invalid");
  });

  it("keys print as rbtk1.<name>.<base64url> and parse back; anything else is refused", () => {
    const text = formatTopicKey(key);
    expect(text).toMatch(/^rbtk1\.deploy\.[A-Za-z0-9_-]{43}$/);
    expect(parseTopicKey(text)).toEqual(key);
    for (const bad of ["", "rbtk1.deploy", "rbtk1.de ploy.AAAA", "rbsk1.abcdef01.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]) {
      expect(() => parseTopicKey(bad), bad).toThrow(RaftbusError);
    }
  });

  it("the publish option signs with a generated id when none is given, replacing a stale signature header", () => {
    const m = buildMessage("deploy.web", { v: 2 }, { sign: formatTopicKey(key), headers: { [TOPIC_SIGNATURE_HEADER]: "v1.old.x", a: "1" } });
    expect(m.id).toMatch(/.{8,}/);
    expect(verifyTopicMessage({ topic: m.topic, id: m.id!, payload: m.payload, headers: m.headers! }, [key])).toBe("verified");
    expect(() => buildMessage("deploy.web", "x", { encrypt: formatPayloadKey(generatePayloadKey()) })).toThrow(/seal the message with sealForPublish first/);
  });
});

describe("encrypted payloads", () => {
  const k = generatePayloadKey();
  const plaintext = utf8.encode("the door code is 4711");

  it("AES-GCM: ciphertext without the plaintext, a fresh IV each time, and decryption with the key", async () => {
    const a = await encryptPayload(k, "vault.codes", plaintext);
    const b = await encryptPayload(k, "vault.codes", plaintext);
    expect(a.header).toBe(`A256GCM.${k.id}`);
    expect(Buffer.from(a.payload).includes(Buffer.from("4711"))).toBe(false);
    expect(a.payload.length).toBe(12 + plaintext.length + 16);
    expect(Buffer.from(a.payload).equals(Buffer.from(b.payload))).toBe(false);
    const msg = { topic: "vault.codes", payload: a.payload, headers: { "raftbus-enc": a.header } };
    expect(new TextDecoder().decode(await decryptPayload([generatePayloadKey(), k], msg))).toBe("the door code is 4711");
  });

  it("refuses another key, another topic, and altered bytes with DECRYPTION_FAILED", async () => {
    const { payload, header } = await encryptPayload(k, "vault.codes", plaintext);
    const code = async (p: Promise<unknown>) => (await p.then(() => "ok", (e: RaftbusError) => e.code));
    const wrong = { ...generatePayloadKey(), id: k.id }; // same id, other bytes
    expect(await code(decryptPayload(generatePayloadKey(), { topic: "vault.codes", payload, headers: { "raftbus-enc": header } }))).toBe("DECRYPTION_FAILED");
    expect(await code(decryptPayload(wrong, { topic: "vault.codes", payload, headers: { "raftbus-enc": header } }))).toBe("DECRYPTION_FAILED");
    expect(await code(decryptPayload(k, { topic: "vault.other", payload, headers: { "raftbus-enc": header } }))).toBe("DECRYPTION_FAILED");
    const flipped = payload.slice();
    flipped[20] = flipped[20]! ^ 1;
    expect(await code(decryptPayload(k, { topic: "vault.codes", payload: flipped, headers: { "raftbus-enc": header } }))).toBe("DECRYPTION_FAILED");
    expect(await code(decryptPayload(k, { topic: "vault.codes", payload, headers: {} }))).toBe("INVALID_ARGUMENT");
  });

  it("keys print as rbek1.<id>.<base64url>, parse back, and a damaged one is refused", () => {
    const text = formatPayloadKey(k);
    expect(parsePayloadKey(text)).toEqual(k);
    const at = "rbek1.".length + 9; // the key's first character: its bits are all key bits
    const damaged = text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
    expect(() => parsePayloadKey(damaged)).toThrow(/damaged/);
  });
});

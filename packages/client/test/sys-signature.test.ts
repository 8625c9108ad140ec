import { describe, expect, it } from "vitest";
import {
  SYS_SIGNATURE_HEADER, SYS_UNSIGNED, deriveSysKey, formatSysKey, parseSysKey, signSysMessage, verifySysMessage,
} from "../src/protocol/index.ts";
import type { SignedFields } from "../src/protocol/index.ts";
import { Msg } from "../src/msg.ts";

const message = (headers: Record<string, string> = {}): SignedFields => ({
  topic: "$sys.lifecycle", id: "e1", senderId: "n2", payload: new TextEncoder().encode('{"kind":"leader.elected"}'), headers: { "raftbus-sys-kind": "leader.elected", ...headers },
});
const signed = (key = deriveSysKey("old-secret-0123456789", "homelab")): SignedFields => {
  const m = message();
  return { ...m, headers: { ...m.headers, [SYS_SIGNATURE_HEADER]: signSysMessage(m, key) } };
};

describe("system-message signatures (HMAC-SHA-256, HKDF-derived key)", () => {
  const oldKey = deriveSysKey("old-secret-0123456789", "homelab");
  const newKey = deriveSysKey("new-secret-0123456789", "homelab");

  it("derives a distinct key per secret and per cluster id, never the secret itself", () => {
    expect(oldKey.id).toMatch(/^[0-9a-f]{8}$/);
    expect(newKey.id).not.toBe(oldKey.id);
    expect(deriveSysKey("old-secret-0123456789", "other").id).not.toBe(oldKey.id);
    expect(Buffer.from(oldKey.key).toString()).not.toContain("old-secret");
  });

  it("verifies an intact message; any altered field or header makes it invalid", () => {
    const m = signed();
    expect(verifySysMessage(m, [oldKey])).toBe("verified");
    expect(verifySysMessage({ ...m, topic: "$sys.alerts.x" }, [oldKey])).toBe("invalid");
    expect(verifySysMessage({ ...m, senderId: "n3" }, [oldKey])).toBe("invalid");
    expect(verifySysMessage({ ...m, payload: new TextEncoder().encode("{}") }, [oldKey])).toBe("invalid");
    expect(verifySysMessage({ ...m, headers: { ...m.headers, extra: "1" } }, [oldKey])).toBe("invalid");
  });

  it("key rotation: a verifier holding old and new keys accepts both; one holding only the new reports the old as unknown", () => {
    const byOld = signed(oldKey);
    const byNew = signed(newKey);
    expect(verifySysMessage(byOld, [newKey, oldKey])).toBe("verified");
    expect(verifySysMessage(byNew, [newKey, oldKey])).toBe("verified");
    expect(verifySysMessage(byOld, [newKey])).toBe("unknown-key");
    expect(verifySysMessage(byOld, [])).toBe("no-keys");
  });

  it("unsigned (development) and ordinary messages are told apart", () => {
    expect(verifySysMessage(message({ [SYS_SIGNATURE_HEADER]: SYS_UNSIGNED }), [oldKey])).toBe("unsigned");
    expect(verifySysMessage(message(), [oldKey])).toBe("not-signed");
  });

  it("printable keys round-trip; a damaged key is refused with INVALID_ARGUMENT", () => {
    const text = formatSysKey(oldKey);
    expect(text).toMatch(/^rbsk1\.[0-9a-f]{8}\.[A-Za-z0-9_-]{43}$/);
    expect(parseSysKey(text)).toEqual(oldKey);
    const damaged = text.slice(0, -2) + (text.endsWith("A") ? "BB" : "AA");
    expect(() => parseSysKey(damaged)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => parseSysKey("nope")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("msg.verified in the SDK", () => {
    const m = signed(oldKey);
    const delivery = { ...m, timestamp: 1, priority: "medium" as const, guarantee: "at-least-once" as const, maxRetries: 0, offset: 0, index: 1, attempt: 1 };
    const settler = { ack: async () => undefined, fail: async () => undefined, respond: async () => { throw new Error("no"); } };
    expect(new Msg(delivery, settler, 0, [oldKey]).verified).toBe(true);
    expect(new Msg(delivery, settler, 0, [newKey]).verified).toBe(false);
    expect(new Msg(delivery, settler, 0, [newKey]).verification).toBe("unknown-key");
  });
});

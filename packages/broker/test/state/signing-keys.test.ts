/**
 * The topic signing key registry in the state machine (cluster version 5)
 * and the leader's publish check against it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { TOPIC_SIGNATURE_HEADER, signTopicMessage } from "@raftbus/client/protocol";
import type { PublishMessage } from "@raftbus/client/protocol";
import { validateCommand } from "../../src/index.ts";
import { signatureRefusals } from "../../src/server/publish/signature-check.ts";
import { Harness } from "../helpers/harness.ts";

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.destroy()));
});

async function open(): Promise<Harness> {
  const h = await Harness.open();
  harnesses.push(h);
  return h;
}

const secret = new Uint8Array(32).fill(3);
const put = (h: Harness, name: string, pattern: string) => ({ type: "putSigningKey" as const, now: h.now, name, pattern, key: secret });

describe("signing key registry", () => {
  it("needs cluster version 5; then keys are added, survive a restart, and are removed", async () => {
    const h = await open();
    await h.ok({ type: "setClusterVersion", now: h.now, version: 4 });
    expect(await h.run(put(h, "deploy", "deploy.**"))).toMatchObject({ ok: false, error: { code: "FEATURE_NOT_ENABLED" } });
    await h.ok({ type: "setClusterVersion", now: h.now, version: 5 });
    expect(await h.ok(put(h, "deploy", "deploy.**"))).toMatchObject({ name: "deploy", pattern: "deploy.**" });
    expect(await h.run(put(h, "deploy", "other"))).toMatchObject({ ok: false, error: { code: "KEY_EXISTS" } });
    await h.restart();
    expect(h.bsm.signingKeysFor("deploy.web.eu").map((k) => k.name)).toEqual(["deploy"]);
    expect(h.bsm.signingKeysFor("deployment")).toEqual([]);
    expect([...(h.bsm.signingKeys().get("deploy")?.key ?? [])]).toEqual([...secret]);
    await h.ok({ type: "removeSigningKey", now: h.now, name: "deploy" });
    expect(h.bsm.signingKeysFor("deploy.web")).toEqual([]);
    expect(await h.run({ type: "removeSigningKey", now: h.now, name: "deploy" })).toMatchObject({ ok: false, error: { code: "KEY_NOT_FOUND" } });
  });

  it("refuses regex and $sys. patterns, bad names and keys that are not 32 bytes", () => {
    const code = (c: unknown) => {
      try {
        validateCommand(c);
        return "ok";
      } catch (err) {
        return (err as { code: string }).code;
      }
    };
    expect(code({ type: "putSigningKey", now: 1, name: "a", pattern: "/deploy\\..*/", key: secret })).toBe("INVALID_PATTERN");
    expect(code({ type: "putSigningKey", now: 1, name: "a", pattern: "$sys.**", key: secret })).toBe("INVALID_PATTERN");
    expect(code({ type: "putSigningKey", now: 1, name: "a b", pattern: "a", key: secret })).toBe("INVALID_ARGUMENT");
    expect(code({ type: "putSigningKey", now: 1, name: "a", pattern: "a", key: new Uint8Array(16) })).toBe("INVALID_ARGUMENT");
    expect(code({ type: "putSigningKey", now: 1, name: "a", pattern: "a.*", key: secret })).toBe("ok");
  });
});

describe("the leader's publish check", () => {
  const keys = [{ name: "deploy", pattern: "deploy.**", key: secret, createdAt: 0 }];
  const keysFor = (topic: string) => (topic.startsWith("deploy.") ? keys : []);
  const payload = new TextEncoder().encode("{}");
  const sig = (m: { topic: string; id: string }) => signTopicMessage({ ...m, payload, headers: {} }, { name: "deploy", key: secret });

  it("passes unguarded topics and valid signatures; names what is wrong with the rest", () => {
    const messages: PublishMessage[] = [
      { topic: "other", payload },
      { topic: "deploy.web", id: "m1", payload, headers: { [TOPIC_SIGNATURE_HEADER]: sig({ topic: "deploy.web", id: "m1" }) } },
      { topic: "deploy.web", payload },
      { topic: "deploy.web", payload, headers: { [TOPIC_SIGNATURE_HEADER]: sig({ topic: "deploy.web", id: "m1" }) } },
      { topic: "deploy.db", id: "m1", payload, headers: { [TOPIC_SIGNATURE_HEADER]: sig({ topic: "deploy.web", id: "m1" }) } },
      { topic: "deploy.web", id: "m1", payload, headers: { [TOPIC_SIGNATURE_HEADER]: signTopicMessage({ topic: "deploy.web", id: "m1", payload, headers: {} }, { name: "ops", key: secret }) } },
      { topic: "deploy.web", id: "m1", payload: new TextEncoder().encode("{ }"), headers: { [TOPIC_SIGNATURE_HEADER]: sig({ topic: "deploy.web", id: "m1" }) } },
    ];
    // The SDK signs with its portable HMAC; the leader checks with node:crypto's over the same bytes.
    const out = signatureRefusals(messages, keysFor);
    expect(out.map((e) => e?.code)).toEqual([undefined, undefined, "SIGNATURE_REQUIRED", "SIGNATURE_INVALID", "SIGNATURE_INVALID", "SIGNATURE_INVALID", "SIGNATURE_INVALID"]);
    expect(out[2]?.details).toEqual({ topic: "deploy.web" });
    expect(out[5]?.message).toMatch(/names a key that does not guard this topic \(the topic's keys: deploy\)/);
    expect(out[6]?.message).toMatch(/does not match the message/);
  });
});

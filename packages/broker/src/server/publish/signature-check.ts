/**
 * Signed topics at publish time (issue 13, part 4): a message to a topic
 * that a signing key guards (its pattern matches) must carry a signature
 * (`raftbus-topic-sig` header) that verifies under one of the keys guarding
 * it. The leader checks before proposing, against its applied registry, so
 * a refused message never reaches the log; the rest of the batch goes on.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { TOPIC_SIGNATURE_HEADER, topicCanonicalBytes } from "@raftbus/client/protocol";
import type { ErrorInfo, PublishMessage, TopicSignedFields, TopicVerification } from "@raftbus/client/protocol";
import type { SigningKeyRecord } from "../../store/records.ts";

/** Per message: why it is refused, or undefined when it may be published. */
export function signatureRefusals(messages: readonly PublishMessage[], keysFor: (topic: string) => readonly SigningKeyRecord[]): (ErrorInfo | undefined)[] {
  return messages.map((m) => {
    const keys = keysFor(m.topic);
    if (keys.length === 0) return undefined;
    const names = keys.map((k) => k.name).join(", ");
    const headers = m.headers ?? {};
    if (headers[TOPIC_SIGNATURE_HEADER] === undefined) {
      return { code: "SIGNATURE_REQUIRED", message: `topic ${m.topic} accepts only messages signed with one of its keys (${names}); sign with the SDK's \`sign\` option or \`raftbus pub --sign-key\``, details: { topic: m.topic } };
    }
    if (m.id === undefined) {
      return { code: "SIGNATURE_INVALID", message: "a signed message carries its id (the signature covers it)", details: { topic: m.topic } };
    }
    const verdict = verifyNative({ topic: m.topic, id: m.id, payload: m.payload, headers }, keys);
    if (verdict === "verified") return undefined;
    const why = verdict === "unknown-key" ? `it names a key that does not guard this topic (the topic's keys: ${names})` : "it does not match the message: altered, or made with another key";
    return { code: "SIGNATURE_INVALID", message: `the signature of message ${m.id} on ${m.topic} is refused: ${why}`, details: { topic: m.topic } };
  });
}

/**
 * verifyTopicMessage (protocol/topic-signature.ts) over the same canonical
 * bytes, with node:crypto's HMAC: the SDK's portable one runs in
 * JavaScript (about 30 µs per KiB), and the leader checks every message of
 * a batch on its event loop.
 */
function verifyNative(m: TopicSignedFields, keys: readonly SigningKeyRecord[]): TopicVerification {
  const parts = /^v1\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{43})$/.exec(m.headers[TOPIC_SIGNATURE_HEADER] ?? "");
  if (parts === null) return "invalid";
  const key = keys.find((k) => k.name === parts[1]);
  if (key === undefined) return "unknown-key";
  const expected = createHmac("sha256", key.key).update(topicCanonicalBytes(m)).digest();
  const given = Buffer.from(parts[2]!, "base64url");
  return given.length === expected.length && timingSafeEqual(given, expected) ? "verified" : "invalid";
}

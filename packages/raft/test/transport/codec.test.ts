/**
 * The frame codec, byte by byte (the nats.js parser discipline): exact
 * encodings, hand-written inputs, every validation rule, and fuzzing that
 * proves decodePacket throws nothing but FrameError.
 */
import fc from "fast-check";
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import type { Entry, Message } from "../../src/core/types.ts";
import { decodePacket, encodeFrame, joinFrames } from "../../src/transport/codec.ts";
import { FrameError } from "../../src/transport/errors.ts";
import type { Frame } from "../../src/transport/frames.ts";
import { meta, sampleMessages, snapMessage } from "./helpers.ts";

const raw = new Packr({ useRecords: false, mapsAsObjects: true });
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));
const str = (s: string): string => (s.length < 32 ? (0xa0 + s.length).toString(16) : "d9" + s.length.toString(16).padStart(2, "0")) + Buffer.from(s).toString("hex");

function badFrame(packet: Uint8Array): FrameError {
  try {
    decodePacket(packet);
  } catch (e) {
    expect(e).toBeInstanceOf(FrameError);
    expect((e as FrameError).code).toBe("BAD_FRAME");
    return e as FrameError;
  }
  throw new Error("expected a FrameError");
}

const nonce = new Uint8Array(16).fill(7);

describe("codec: exact bytes", () => {
  it("encodes a challenge frame as a msgpack map in field order", () => {
    const b = encodeFrame({ v: 1, kind: "challenge", nonce });
    expect(hex(b)).toBe(
      "de0003" + str("v") + "01" + str("kind") + str("challenge") + str("nonce") + "c410" + "07".repeat(16),
    );
  });

  it("decodes a hand-written fixmap frame (key order and map width do not matter)", () => {
    // {kind: "challenge", nonce: bin8(16), v: 1} written with a fixmap (0x83).
    const packet = bytes("83" + str("kind") + str("challenge") + str("nonce") + "c410" + "07".repeat(16) + str("v") + "01");
    expect(decodePacket(packet)).toEqual([{ v: 1, kind: "challenge", nonce }]);
  });

  it("decodes several frames back to back in one packet", () => {
    const msgs = sampleMessages("a", "b");
    const packet = joinFrames(msgs.map((msg) => encodeFrame({ v: 1, kind: "raft", msg } as Frame)));
    expect(decodePacket(packet).map((f) => (f.kind === "raft" ? f.msg : f))).toEqual(msgs);
  });

  it("keeps earlier encodings intact after later ones (msgpackr buffer reuse)", () => {
    const first = encodeFrame({ v: 1, kind: "challenge", nonce });
    const copy = first.slice();
    for (let i = 0; i < 2_000; i++) encodeFrame({ v: 1, kind: "challenge", nonce: new Uint8Array(64).fill(i & 0xff) });
    expect(first).toEqual(copy);
  });

  it("hands entry data to the core as plain Uint8Array views", () => {
    const [app] = sampleMessages("a", "b");
    const [f] = decodePacket(encodeFrame({ v: 1, kind: "raft", msg: app } as Frame));
    expect(f?.kind === "raft" && f.msg.type === "app" && f.msg.entries[0]?.data.constructor).toBe(Uint8Array);
  });
});

describe("codec: round trips", () => {
  it.each(sampleMessages("n1", "n2").map((m) => [m.type, m] as const))("raft frame with %s", (_t, msg) => {
    expect(decodePacket(encodeFrame({ v: 1, kind: "raft", msg } as Frame))).toEqual([{ v: 1, kind: "raft", msg }]);
  });

  it("every other frame kind", () => {
    const frames: Frame[] = [
      { v: 1, kind: "hello", nodeId: "a", clusterId: "c1", to: "b", nonce, auth: new Uint8Array(32).fill(1) },
      { v: 1, kind: "snapOffer", msg: snapMessage("a", "b") },
      { v: 1, kind: "snapChunk", meta: meta(), offset: 65_536, data: new Uint8Array([9, 8, 7]), done: false },
      { v: 1, kind: "snapChunk", meta: meta(), offset: 0, data: new Uint8Array(0), done: true },
      { v: 1, kind: "snapAck", index: 100, term: 4, offset: 3, done: true, failed: false },
    ];
    for (const f of frames) expect(decodePacket(encodeFrame(f))).toEqual([f]);
  });

  it("drops unknown extra fields instead of passing them on", () => {
    const [f] = decodePacket(raw.pack({ v: 1, kind: "raft", extra: 1, msg: { ...sampleMessages("a", "b")[4], evil: "x" } }));
    expect(f?.kind === "raft" && Object.keys(f.msg).sort()).toEqual(["from", "reject", "term", "to", "type"]);
  });

  it("property: any well-formed message survives encode → decode", () => {
    const id = fc.string({ minLength: 1, maxLength: 12 });
    const u = fc.nat({ max: Number.MAX_SAFE_INTEGER });
    const entry: fc.Arbitrary<Entry> = fc.record({
      index: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), term: fc.integer({ min: 1, max: 2 ** 40 }),
      type: fc.constantFrom("normal", "noop", "conf"), data: fc.uint8Array({ maxLength: 64 }),
    });
    const msg: fc.Arbitrary<Message> = fc.oneof(
      fc.record({ type: fc.constant("app"), from: id, to: id, term: u, prevIndex: u, prevTerm: u, commit: u, entries: fc.array(entry, { maxLength: 4 }) }),
      fc.record({ type: fc.constant("appResp"), from: id, to: id, term: u, reject: fc.boolean(), index: u, hintIndex: u, hintTerm: u }),
      fc.record({ type: fc.constantFrom("vote", "preVote"), from: id, to: id, term: u, lastIndex: u, lastTerm: u, transfer: fc.boolean() }),
      fc.record({ type: fc.constantFrom("voteResp", "preVoteResp"), from: id, to: id, term: u, reject: fc.boolean() }),
      fc.record({ type: fc.constant("heartbeat"), from: id, to: id, term: u, commit: u, readSeq: u }),
      fc.record({ type: fc.constant("heartbeatResp"), from: id, to: id, term: u, readSeq: u }),
      fc.record({ type: fc.constant("timeoutNow"), from: id, to: id, term: u }),
      fc.record({ type: fc.constant("notMember"), from: id, to: id, term: u, confIndex: u,
        conf: fc.record({ voters: fc.array(id, { maxLength: 5 }), learners: fc.array(id, { maxLength: 3 }) }) }),
    ) as fc.Arbitrary<Message>;
    fc.assert(fc.property(msg, (m) => {
      expect(decodePacket(encodeFrame({ v: 1, kind: "raft", msg: m } as Frame))).toEqual([{ v: 1, kind: "raft", msg: m }]);
    }), { numRuns: 300 });
  });
});

describe("codec: validation (BAD_FRAME)", () => {
  const [app] = sampleMessages("a", "b") as [Message & { type: "app" }];
  const withMsg = (msg: unknown): Uint8Array => raw.pack({ v: 1, kind: "raft", msg });
  const cases: [string, Uint8Array, string][] = [
    ["empty packet", new Uint8Array(0), "packet"],
    ["not msgpack (reserved 0xc1 is not a map)", bytes("c1"), "frame"],
    ["truncated msgpack", encodeFrame({ v: 1, kind: "challenge", nonce }).subarray(0, 10), "packet"],
    ["a bare number", raw.pack(42), "frame"],
    ["an array", raw.pack([1, 2]), "frame"],
    ["wrong version", raw.pack({ v: 2, kind: "raft", msg: app }), "frame.v"],
    ["missing version", raw.pack({ kind: "raft", msg: app }), "frame.v"],
    ["unknown kind", raw.pack({ v: 1, kind: "bogus" }), "frame.kind"],
    ["unknown message type", withMsg({ ...app, type: "bogus" }), "frame.msg.type"],
    ["snap inside a raft frame", withMsg(snapMessage("a", "b")), "frame.msg.type"],
    ["negative term", withMsg({ ...app, term: -1 }), "frame.msg.term"],
    ["fractional index", withMsg({ ...app, prevIndex: 1.5 }), "frame.msg.prevIndex"],
    ["NaN commit", withMsg({ ...app, commit: NaN }), "frame.msg.commit"],
    ["unsafe integer", withMsg({ ...app, commit: 2 ** 60 }), "frame.msg.commit"],
    ["number as string", withMsg({ ...app, commit: "5" }), "frame.msg.commit"],
    ["empty from", withMsg({ ...app, from: "" }), "frame.msg.from"],
    ["over-long to", withMsg({ ...app, to: "x".repeat(257) }), "frame.msg.to"],
    ["entries not a list", withMsg({ ...app, entries: {} }), "frame.msg.entries"],
    ["entry data as string", withMsg({ ...app, entries: [{ index: 1, term: 1, type: "normal", data: "abc" }] }), "frame.msg.entries[0].data"],
    ["entry index 0", withMsg({ ...app, entries: [{ index: 0, term: 1, type: "normal", data: new Uint8Array(0) }] }), "frame.msg.entries[0]"],
    ["entry type unknown", withMsg({ ...app, entries: [{ index: 1, term: 1, type: "x", data: new Uint8Array(0) }] }), "frame.msg.entries[0].type"],
    ["boolean as number", withMsg({ ...sampleMessages("a", "b")[1], reject: 1 }), "frame.msg.reject"],
    ["short nonce", raw.pack({ v: 1, kind: "challenge", nonce: new Uint8Array(8) }), "frame.nonce"],
    ["short auth tag", raw.pack({ v: 1, kind: "hello", nodeId: "a", clusterId: "c", to: "b", nonce, auth: new Uint8Array(31) }), "frame.auth"],
    ["conf voters not ids", raw.pack({ v: 1, kind: "snapOffer", msg: { ...snapMessage("a", "b"), snapshot: { index: 1, term: 1, conf: { voters: [1], learners: [] } } } }), "frame.msg.snapshot.conf.voters[0]"],
    ["chunk without done flag", raw.pack({ v: 1, kind: "snapChunk", meta: meta(), offset: 0, data: new Uint8Array(1) }), "frame.done"],
    ["second frame of a packet bad", joinFrames([encodeFrame({ v: 1, kind: "challenge", nonce }), raw.pack({ v: 1 })]), "frame.kind"],
    ["trailing garbage", joinFrames([encodeFrame({ v: 1, kind: "challenge", nonce }), bytes("dd ff ff ff ff")]), "packet"],
  ];
  it.each(cases)("%s", (_name, packet, path) => {
    expect(badFrame(packet).path).toBe(path);
  });

  it("ignores a __proto__ key rather than polluting prototypes", () => {
    const packet = bytes("82" + str("__proto__") + "81" + str("v") + "01" + str("kind") + str("raft"));
    badFrame(packet);
    expect(({} as Record<string, unknown>)["v"]).toBeUndefined();
  });
});

describe("codec: fuzzing never throws anything but FrameError", () => {
  const onlyFrameErrors = (packet: Uint8Array): void => {
    try {
      decodePacket(packet);
    } catch (e) {
      if (!(e instanceof FrameError)) throw e;
    }
  };

  it("random bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), onlyFrameErrors), { numRuns: 3_000 });
  });

  it("random bytes behind a plausible map header", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), (tail) => {
      onlyFrameErrors(Buffer.concat([bytes("83" + str("v") + "01" + str("kind")), tail]));
    }), { numRuns: 2_000 });
  });

  it("valid packets with bytes flipped or cut", () => {
    const msgs = [...sampleMessages("a", "b")];
    const valid = joinFrames([
      ...msgs.map((msg) => encodeFrame({ v: 1, kind: "raft", msg } as Frame)),
      encodeFrame({ v: 1, kind: "snapOffer", msg: snapMessage("a", "b") }),
      encodeFrame({ v: 1, kind: "snapChunk", meta: meta(), offset: 3, data: new Uint8Array([1, 2]), done: true }),
    ]);
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat({ max: valid.byteLength - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      fc.nat({ max: valid.byteLength }),
      (flips, cut) => {
        const p = valid.slice(0, Math.max(cut, 1));
        for (const [at, value] of flips) if (at < p.byteLength) p[at] = value;
        onlyFrameErrors(p);
      },
    ), { numRuns: 3_000 });
  });

  it("deep nesting is a FrameError, not a stack overflow", () => {
    onlyFrameErrors(new Uint8Array(200_000).fill(0x91)); // [[[[…]]]]
  });
});

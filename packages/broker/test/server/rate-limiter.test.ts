/** Publish token buckets per identity, on an injected clock. */
import { describe, expect, it } from "vitest";
import { PublishRateLimiter } from "../../src/server/rate-limiter.ts";

function limiter(messagesPerSec: number, bytesPerSec: number) {
  let now = 1_000_000;
  const l = new PublishRateLimiter({ publishMessagesPerSecMax: messagesPerSec, publishBytesPerSecMax: bytesPerSec }, () => now);
  return { l, advance: (ms: number) => (now += ms) };
}

describe("PublishRateLimiter", () => {
  it("admits a second's worth, then RATE_LIMITED with the time to wait, then refills with time", () => {
    const { l, advance } = limiter(100, 1_000_000);
    for (let i = 0; i < 100; i++) l.charge("alice", 1, 10);
    expect(() => l.charge("alice", 1, 10)).toThrow(expect.objectContaining({
      code: "RATE_LIMITED", details: { limit: "publishMessagesPerSecMax", max: 100, retryAfterMs: 10 },
    }) as Error);
    advance(10);
    l.charge("alice", 1, 10);
    expect(() => l.charge("alice", 1, 10)).toThrow(/RATE_LIMITED|over publishMessagesPerSecMax/);
    advance(1000);
    for (let i = 0; i < 100; i++) l.charge("alice", 1, 10);
  });

  it("identities have their own buckets", () => {
    const { l } = limiter(2, 1_000_000);
    l.charge("alice", 2, 1);
    expect(() => l.charge("alice", 1, 1)).toThrow();
    l.charge("bob", 2, 1);
  });

  it("a batch bigger than a second's worth of bytes goes through once and is paid back before the next", () => {
    const { l, advance } = limiter(1000, 1000);
    l.charge("big", 1, 4000);
    expect(() => l.charge("big", 1, 1)).toThrow(expect.objectContaining({ details: expect.objectContaining({ limit: "publishBytesPerSecMax", retryAfterMs: 3001 }) }) as Error);
    advance(3001);
    l.charge("big", 1, 1);
  });

  it("keeps at most 10,000 identities", () => {
    const { l, advance } = limiter(10, 1000);
    for (let i = 0; i < 12_000; i++) l.charge(`id-${i}`, 10, 1000);
    expect(l.size).toBeLessThanOrEqual(10_000);
    advance(2000);
    for (let i = 0; i < 100; i++) l.charge(`later-${i}`, 1, 1);
    expect(l.size).toBeLessThanOrEqual(10_000);
  });
});

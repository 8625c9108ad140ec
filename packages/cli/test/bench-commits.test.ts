/** The benchmark waits for a million commits without holding a million promises (issue 14). */
import { describe, expect, it } from "vitest";
import { CommitTracker } from "../src/bench/workloads.ts";

function deferred(): { promise: Promise<number>; resolve: (n: number) => void; reject: (e: Error) => void } {
  let resolve!: (n: number) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<number>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("bench: CommitTracker", () => {
  it("settles once every tracked commit has, not before", async () => {
    const t = new CommitTracker();
    const a = deferred();
    const b = deferred();
    t.track(a.promise);
    t.track(b.promise);
    let done = false;
    const settled = t.settled().then(() => (done = true));
    a.resolve(1);
    await a.promise;
    await Promise.resolve();
    expect(done).toBe(false);
    b.resolve(2);
    await settled;
    expect(done).toBe(true);
  });

  it("rejects with the first failure once all have settled", async () => {
    const t = new CommitTracker();
    const a = deferred();
    const b = deferred();
    t.track(a.promise);
    t.track(b.promise);
    a.reject(new Error("first"));
    b.reject(new Error("second"));
    await expect(t.settled()).rejects.toThrow("first");
  });

  it("with nothing tracked, settles at once", async () => {
    await expect(new CommitTracker().settled()).resolves.toBeUndefined();
  });
});

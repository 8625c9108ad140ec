/**
 * Interaction tests in etcd-raft's datadriven style: each file in testdata/
 * is a transcript of the core's trickiest exchanges — every message, in
 * order — so a change in what the core sends shows up as a readable diff.
 * RAFTBUS_REWRITE=1 pnpm vitest run packages/raft/test/interaction rewrites
 * the expectations from the actual output (review the diff before committing).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lineDiff, runFile } from "./datadriven.ts";
import { InteractionEnv } from "./env.ts";

const DIR = join(import.meta.dirname, "testdata");

describe("interaction transcripts (testdata/*.txt)", () => {
  for (const file of readdirSync(DIR).filter((f) => f.endsWith(".txt")).sort()) {
    it(file, () => {
      const env = new InteractionEnv();
      const r = runFile(join(DIR, file), (d) => env.handle(d));
      if (r.mismatch !== undefined) {
        const { directive, actual } = r.mismatch;
        expect.fail(`${file}:${directive.lineNo}: ${directive.line}\n${lineDiff(directive.expected, actual)}\n(RAFTBUS_REWRITE=1 rewrites the file)`);
      }
    });
  }
});

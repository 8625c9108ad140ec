#!/usr/bin/env node
/**
 * The `raftbus` command. Run from the repository root with `pnpm raftbus <args>`.
 */
import "reflect-metadata";
import { run } from "./cli.ts";

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`raftbus: unexpected error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);

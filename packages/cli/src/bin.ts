#!/usr/bin/env node
/**
 * The `raftbus` command. Run from the repository root with `pnpm raftbus <args>`.
 * Loads only what the command line needs: the node (broker, Raft, LevelDB,
 * tsyringe) for `node start`, the SDK when a command connects.
 */
import { run } from "./cli.ts";

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`raftbus: unexpected error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);

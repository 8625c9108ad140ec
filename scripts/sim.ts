/**
 * `pnpm sim`: replay or explore simulator seeds from the command line, with
 * the key-value example or the broker as the application and any setting
 * pinned by a flag (`pnpm sim --help` lists them). Every failure prints the
 * command that replays it. Lives here because it sees both packages.
 */
import { brokerApp } from "../packages/broker/test/sim/broker-app.ts";
import { simMain } from "../packages/raft/test/sim/cli-main.ts";
import { kvApp } from "../packages/raft/test/sim/kv-app.ts";

simMain(process.argv.slice(2), [kvApp, brokerApp]).then((code) => {
  process.exitCode = code;
}, (err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

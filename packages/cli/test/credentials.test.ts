/**
 * Which token the CLI presents: --token, RAFTBUS_TOKEN, --credentials,
 * RAFTBUS_CREDENTIALS, then ./data/credentials (what `pnpm start` writes),
 * first found wins; a credentials file's first line that is not a comment.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveToken } from "../src/util/credentials.ts";
import { UsageError } from "../src/util/errors.ts";
import { tempDirs } from "./helpers/temp-dirs.ts";

const folder = tempDirs("raftbus-creds-");

describe("the CLI's token", () => {
  it("takes the first source that gives one", () => {
    const cwd = folder();
    mkdirSync(join(cwd, "data"));
    writeFileSync(join(cwd, "data", "credentials"), "# local cluster\n\nrbu1.admin.local\n");
    writeFileSync(join(cwd, "mine"), "rbu1.me.file\n");
    writeFileSync(join(cwd, "env-file"), "rbu1.me.envfile\n");
    expect(resolveToken({ token: "flag" }, { RAFTBUS_TOKEN: "env" }, cwd)).toBe("flag");
    expect(resolveToken({ credentials: "mine" }, { RAFTBUS_TOKEN: "env" }, cwd)).toBe("env");
    expect(resolveToken({ credentials: "mine" }, { RAFTBUS_CREDENTIALS: "env-file" }, cwd)).toBe("rbu1.me.file");
    expect(resolveToken({}, { RAFTBUS_CREDENTIALS: "env-file" }, cwd)).toBe("rbu1.me.envfile");
    expect(resolveToken({}, {}, cwd)).toBe("rbu1.admin.local");
    expect(resolveToken({}, {}, folder())).toBeUndefined();
  });

  it("says which file could not be read or holds no token", () => {
    const cwd = folder();
    writeFileSync(join(cwd, "empty"), "# nothing\n\n");
    expect(() => resolveToken({ credentials: "missing" }, {}, cwd)).toThrow(UsageError);
    expect(() => resolveToken({ credentials: "empty" }, {}, cwd)).toThrow(/holds no token/);
  });
});

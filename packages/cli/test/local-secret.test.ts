/**
 * The secret of a local cluster (`cluster up`): generated once per data
 * folder, owner-only, reused afterwards; a damaged file is refused.
 */
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LOCAL_SECRET_FILE, localClusterSecret } from "../src/node/local-secret.ts";
import { tempDirs } from "./helpers/temp-dirs.ts";

const tempDir = tempDirs("raftbus-secret-");

describe("local cluster secret", () => {
  it("is generated the first time (random, 256 bits, readable by the owner only) and reused after", () => {
    const dir = tempDir();
    const first = localClusterSecret(dir);
    expect(first.created).toBe(true);
    expect(first.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(join(dir, LOCAL_SECRET_FILE)).mode & 0o777).toBe(0o600);
    const again = localClusterSecret(dir);
    expect(again).toEqual({ ...first, created: false });
    expect(localClusterSecret(tempDir()).secret).not.toBe(first.secret);
  });

  it("a stored secret that is too short or a placeholder is refused, naming the file", () => {
    const dir = tempDir();
    writeFileSync(join(dir, LOCAL_SECRET_FILE), "change-me-to-a-long-random-string\n");
    expect(() => localClusterSecret(dir)).toThrow(new RegExp(`${LOCAL_SECRET_FILE}: clusterSecret: .* is a placeholder.*delete the file`));
    expect(readFileSync(join(dir, LOCAL_SECRET_FILE), "utf8")).toBe("change-me-to-a-long-random-string\n");
  });
});

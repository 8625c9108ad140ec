/** Where `raftbus sys key` finds the cluster secret: flag, environment, file, then ./data/cluster-secret. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { deriveSysKey, formatSysKey } from "@raftbus/client/protocol";
import { resolveClusterSecret } from "../src/util/cluster-secret.ts";
import { runCliInProcess } from "./helpers/cluster.ts";
import { tempDirs } from "./helpers/temp-dirs.ts";

const tempDir = tempDirs("raftbus-sys-key-");

describe("the cluster secret of `raftbus sys key`", () => {
  it("takes the flag, then RAFTBUS_CLUSTER_SECRET, then --cluster-secret-file, then ./data/cluster-secret", () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, "data"));
    writeFileSync(join(cwd, "data", "cluster-secret"), "local-secret-0123456789abcdef\n", { mode: 0o600 });
    writeFileSync(join(cwd, "other"), "file-secret-0123456789abcdef\n");
    expect(resolveClusterSecret({ secret: "flag-secret-0123456789" }, { RAFTBUS_CLUSTER_SECRET: "env-secret-0123456789" }, cwd)).toBe("flag-secret-0123456789");
    expect(resolveClusterSecret({ file: "other" }, { RAFTBUS_CLUSTER_SECRET: "env-secret-0123456789" }, cwd)).toBe("env-secret-0123456789");
    expect(resolveClusterSecret({ file: "other" }, {}, cwd)).toBe("file-secret-0123456789abcdef");
    expect(resolveClusterSecret({}, {}, cwd)).toBe("local-secret-0123456789abcdef");
  });

  it("says what to give when there is none, and refuses one too short to be a node's", () => {
    const cwd = tempDir();
    expect(() => resolveClusterSecret({}, {}, cwd)).toThrow(/--cluster-secret, RAFTBUS_CLUSTER_SECRET or --cluster-secret-file.*no \.\/data\/cluster-secret here/);
    writeFileSync(join(cwd, "short"), "tiny\n");
    expect(() => resolveClusterSecret({ file: "short" }, {}, cwd)).toThrow(/short: a cluster secret has at least 16 characters/);
    expect(() => resolveClusterSecret({ file: "missing" }, {}, cwd)).toThrow(/--cluster-secret-file: cannot read/);
  });

  it("prints the key derived from a secret file", async () => {
    const file = join(tempDir(), "secret");
    writeFileSync(file, "file-secret-0123456789abcdef\n");
    const r = await runCliInProcess(["sys", "key", "--cluster-secret-file", file, "--cluster-id", "home"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(formatSysKey(deriveSysKey("file-secret-0123456789abcdef", "home")));
  });
});

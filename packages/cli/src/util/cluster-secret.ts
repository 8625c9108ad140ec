/**
 * Which cluster secret `raftbus sys key` derives the system-event key from,
 * first found wins: `--cluster-secret`, RAFTBUS_CLUSTER_SECRET, the file
 * `--cluster-secret-file`, and — so that it works as it is next to a local
 * cluster — `./data/cluster-secret`, which `raftbus cluster up` (`pnpm
 * start`) generates (node/local-secret.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { UsageError } from "./errors.ts";

/** The secret file of the local cluster, seen from the repository root. */
export const DEFAULT_CLUSTER_SECRET_FILE = "./data/cluster-secret";

/** Shortest secret a node accepts (broker secret rules). */
const SECRET_MIN_LENGTH = 16;

function readSecretFile(file: string, from: string): string {
  try {
    return readFileSync(file, "utf8").trim();
  } catch (err) {
    throw new UsageError(`${from}: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`, "sys key");
  }
}

/** The secret to use. @throws UsageError when none is found or it is too short to be a node's. */
export function resolveClusterSecret(flags: { secret?: string | undefined; file?: string | undefined }, env: Readonly<Record<string, string | undefined>>, cwd = process.cwd()): string {
  let secret: string | undefined;
  let from: string;
  if (flags.secret !== undefined && flags.secret !== "") [secret, from] = [flags.secret, "--cluster-secret"];
  else if (env["RAFTBUS_CLUSTER_SECRET"] !== undefined && env["RAFTBUS_CLUSTER_SECRET"] !== "") [secret, from] = [env["RAFTBUS_CLUSTER_SECRET"], "RAFTBUS_CLUSTER_SECRET"];
  else if (flags.file !== undefined && flags.file !== "") [secret, from] = [readSecretFile(resolve(cwd, flags.file), "--cluster-secret-file"), flags.file];
  else {
    const local = resolve(cwd, DEFAULT_CLUSTER_SECRET_FILE);
    if (!existsSync(local)) {
      throw new UsageError(`give the cluster secret (--cluster-secret, RAFTBUS_CLUSTER_SECRET or --cluster-secret-file); no ${DEFAULT_CLUSTER_SECRET_FILE} here`, "sys key");
    }
    [secret, from] = [readSecretFile(local, DEFAULT_CLUSTER_SECRET_FILE), DEFAULT_CLUSTER_SECRET_FILE];
  }
  if (secret.length < SECRET_MIN_LENGTH) throw new UsageError(`${from}: a cluster secret has at least ${SECRET_MIN_LENGTH} characters`, "sys key");
  return secret;
}

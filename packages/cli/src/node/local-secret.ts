/**
 * The cluster secret of a local cluster (`raftbus cluster up`, what `pnpm
 * start` runs): random, generated the first time into the data folder
 * (`<data-dir>/cluster-secret`, readable by its owner only) and reused on
 * every later start, so the nodes of one folder always agree and no
 * built-in secret ever guards a real cluster (issue 13).
 */
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { secretProblem } from "@raftbus/broker";

/** File name of the secret inside the local cluster's data folder. */
export const LOCAL_SECRET_FILE = "cluster-secret";

/** Random bytes in a generated secret (256 bits, as base64url: 43 characters). */
const SECRET_BYTES = 32;

/** The folder's secret and whether this call created it. @throws Error when the stored secret is unusable (the message says which file). */
export function localClusterSecret(dataDir: string): { readonly secret: string; readonly created: boolean; readonly file: string } {
  const file = join(dataDir, LOCAL_SECRET_FILE);
  const fresh = randomBytes(SECRET_BYTES).toString("base64url");
  try {
    // "wx": never overwrite a secret another start wrote first.
    writeFileSync(file, `${fresh}\n`, { flag: "wx", mode: 0o600 });
    return { secret: fresh, created: true, file };
  } catch (err) {
    if ((err as { code?: unknown }).code !== "EEXIST") throw err;
  }
  const secret = readFileSync(file, "utf8").trim();
  const problem = secretProblem("clusterSecret", secret, "127.0.0.1");
  if (problem !== undefined) throw new Error(`${file}: ${problem} (delete the file to generate a new one)`);
  return { secret, created: false, file };
}

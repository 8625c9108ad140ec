/**
 * Which token the CLI presents (issue 13 part 1), first found wins:
 * `--token`, RAFTBUS_TOKEN, the file `--credentials`, the file
 * RAFTBUS_CREDENTIALS, and — so the README's walk-through works as it is —
 * `./data/credentials`, which `raftbus cluster up` (`pnpm start`) writes with
 * the local cluster's admin token. A credentials file holds the token on its
 * first line that is neither empty nor a `#` comment.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { UsageError } from "./errors.ts";

/** Where `cluster up` keeps the local cluster's admin token, relative to its data folder. */
export const CREDENTIALS_FILE_NAME = "credentials";

/** The default credentials file: the one `pnpm start` writes, seen from the repository root. */
export const DEFAULT_CREDENTIALS = `./data/${CREDENTIALS_FILE_NAME}`;

/** The token in a credentials file. @throws UsageError when the file cannot be read or holds none. */
export function readCredentialsFile(file: string, from: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`${from}: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const token = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l.length > 0 && !l.startsWith("#"));
  if (token === undefined) throw new UsageError(`${from}: ${file} holds no token`);
  return token;
}

/** The token to present, or undefined (a node in open mode needs none). */
export function resolveToken(flags: { token?: string | undefined; credentials?: string | undefined }, env: Readonly<Record<string, string | undefined>>, cwd = process.cwd()): string | undefined {
  if (flags.token !== undefined && flags.token !== "") return flags.token;
  if (env["RAFTBUS_TOKEN"] !== undefined && env["RAFTBUS_TOKEN"] !== "") return env["RAFTBUS_TOKEN"];
  if (flags.credentials !== undefined && flags.credentials !== "") return readCredentialsFile(resolve(cwd, flags.credentials), "--credentials");
  const fromEnv = env["RAFTBUS_CREDENTIALS"];
  if (fromEnv !== undefined && fromEnv !== "") return readCredentialsFile(resolve(cwd, fromEnv), "RAFTBUS_CREDENTIALS");
  const local = resolve(cwd, DEFAULT_CREDENTIALS);
  return existsSync(local) ? readCredentialsFile(local, DEFAULT_CREDENTIALS) : undefined;
}

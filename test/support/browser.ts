/**
 * Headless Chromium for tests (the SDK's browser bundle, the dashboard):
 * Debian's `chromium` package driven by playwright-core — never a
 * downloaded browser. `launchChromium()` installs the package when it is
 * missing (apt, once per process) and resolves with the reason when it
 * cannot, so a test can skip with a clear message.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Flags that keep a headless test browser quiet and offline apart from the pages it is sent to. */
export const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--no-first-run", "--disable-quic", "--disable-gpu",
] as const;

let installAttempt: string | undefined | null = null;

/** Make sure /usr/bin/chromium exists; undefined when it does, else why it could not be installed. */
export function ensureChromium(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined;
  if (installAttempt !== null) return installAttempt;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const update = spawnSync("apt-get", ["update", "-qq"], { env, encoding: "utf8", timeout: 300_000 });
  const install = update.status === 0 ? spawnSync("apt-get", ["install", "-y", "-qq", "chromium"], { env, encoding: "utf8", timeout: 600_000 }) : update;
  installAttempt = existsSync(CHROMIUM_PATH)
    ? undefined
    : `chromium is not installed and \`apt-get install chromium\` failed (${install.error?.message ?? `exit ${install.status}: ${(install.stderr ?? "").trim().split("\n").at(-1) ?? ""}`})`;
  return installAttempt;
}

/** Launch headless Chromium, or resolve with the reason it is unavailable. */
export async function launchChromium(): Promise<{ browser: Browser } | { unavailable: string }> {
  const missing = ensureChromium();
  if (missing !== undefined) return { unavailable: missing };
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS] });
  return { browser };
}

/**
 * Everything a chaos run creates — child processes, network namespaces, its
 * temp folder — is registered here and removed by {@link Registry.cleanup},
 * which runs on normal exit, on test failure (the caller's finally), and on
 * SIGINT/SIGTERM. Nothing is ever killed by name: only PIDs this run spawned,
 * and processes inside namespaces whose name carries this run's prefix.
 *
 * Names start with `rbc-<pid>-`, so {@link reapStale} can also clean up after
 * a run that was killed with SIGKILL: its owner PID is dead.
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Prefix of every name a chaos run creates. */
export const NAME_PREFIX = "rbc-";

/** Is a process with this PID alive? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Run `ip` (or `nft`) synchronously; throws with its stderr on failure. */
export function sh(cmd: string, args: readonly string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", input, timeout: 10_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`);
  return r.stdout;
}

/** PIDs of the processes inside a network namespace. */
export function netnsPids(ns: string): number[] {
  try {
    return sh("ip", ["netns", "pids", ns]).split("\n").filter((l) => l.trim() !== "").map(Number);
  } catch {
    return [];
  }
}

function killNetns(ns: string): void {
  for (const pid of netnsPids(ns)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  try {
    sh("ip", ["netns", "del", ns]);
  } catch {
    // already gone
  }
}

/** Owns the processes and namespaces of one run. */
export class Registry {
  /** `rbc-<pid>-`: every namespace and temp folder of this process starts with it. */
  readonly prefix = `${NAME_PREFIX}${process.pid}-`;
  private readonly procs = new Set<ChildProcess>();
  private readonly namespaces: string[] = [];
  private readonly dirs: string[] = [];
  private cleaned = false;
  private readonly onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`chaos: ${sig}: cleaning up ${this.procs.size} processes and ${this.namespaces.length} namespaces\n`);
    this.cleanup({ keepDirs: true });
    process.exit(130);
  };

  private readonly onExit = () => this.cleanup({ keepDirs: true });

  /**
   * Clean up on SIGINT/SIGTERM and on any exit, including a crash of the
   * runner itself (cleanup is synchronous, so it works in the `exit` event).
   * For commands; tests clean up in their own `finally`.
   */
  handleSignals(): void {
    process.once("SIGINT", this.onSignal);
    process.once("SIGTERM", this.onSignal);
    process.once("exit", this.onExit);
  }

  /** Track a child process until it exits. */
  process(p: ChildProcess): ChildProcess {
    this.procs.add(p);
    p.once("exit", () => this.procs.delete(p));
    return p;
  }

  /** Track a namespace this run created. */
  netns(name: string): void {
    if (!name.startsWith(this.prefix)) throw new Error(`namespace ${name} lacks the run prefix ${this.prefix}`);
    this.namespaces.push(name);
  }

  /** Track a temp folder (removed unless the run keeps its evidence). */
  dir(path: string): void {
    this.dirs.push(path);
  }

  /** Kill every tracked process (SIGKILL works on stopped ones too), delete namespaces and, unless kept, folders. */
  cleanup(opts: { keepDirs?: boolean } = {}): void {
    if (this.cleaned) return;
    this.cleaned = true;
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
    process.off("exit", this.onExit);
    for (const p of this.procs) {
      if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) {
        try {
          process.kill(p.pid, "SIGKILL");
        } catch {
          // exited meanwhile
        }
      }
    }
    for (const ns of this.namespaces.reverse()) killNetns(ns);
    if (opts.keepDirs !== true) for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}

/**
 * Remove what runs killed with SIGKILL left: namespaces `rbc-<pid>-…` and
 * temp folders whose owner PID is dead. Processes in a stale namespace are
 * ours by construction; a stale folder's node processes are recognised by
 * their command line naming that folder.
 */
export function reapStale(): string[] {
  const reaped: string[] = [];
  const owner = (name: string): number | undefined => {
    const m = /^rbc-(\d+)-/.exec(name);
    return m === null ? undefined : Number(m[1]);
  };
  let names: string[] = [];
  try {
    names = sh("ip", ["netns", "list"]).split("\n").map((l) => l.split(" ")[0] ?? "").filter((n) => n.startsWith(NAME_PREFIX));
  } catch {
    // no ip or no namespaces
  }
  for (const ns of names) {
    const pid = owner(ns);
    if (pid !== undefined && !alive(pid)) {
      killNetns(ns);
      reaped.push(ns);
    }
  }
  for (const d of readdirSync(tmpdir())) {
    const pid = owner(d);
    if (pid === undefined || alive(pid)) continue;
    const dir = join(tmpdir(), d);
    for (const p of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
      try {
        if (readFileSync(join("/proc", p, "cmdline"), "utf8").includes(dir)) process.kill(Number(p), "SIGKILL");
      } catch {
        // gone or not ours to read
      }
    }
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    reaped.push(dir);
  }
  return reaped;
}

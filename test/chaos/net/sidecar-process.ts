/** The runner's handle on one sidecar process (see sidecar.ts). */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { waitFor } from "../../support/local-cluster.ts";
import type { Registry } from "../support/registry.ts";
import type { LinkFaults } from "./link-fault.ts";
import type { SidecarConfig } from "./sidecar.ts";

const SIDECAR = fileURLToPath(new URL("./sidecar.ts", import.meta.url));

/** A running sidecar; `prefix` is the command that enters the node's namespace, if any. */
export class SidecarProcess {
  private readonly proc: ChildProcess;
  private seq = 0;
  private acked = 0;
  private ready = false;
  private lastStats = "";

  private constructor(proc: ChildProcess) {
    this.proc = proc;
    const rl = createInterface({ input: proc.stdout! });
    rl.on("line", (line) => {
      if (line === "ready") this.ready = true;
      else if (line.startsWith("ok ")) this.acked = Math.max(this.acked, Number(line.slice(3)));
      else if (line.startsWith("stats ")) this.lastStats = line.slice(6);
    });
  }

  /** Start a sidecar and wait until it listens. */
  static async start(registry: Registry, config: SidecarConfig, prefix: readonly string[], logFd: number): Promise<SidecarProcess> {
    const argv = [...prefix, process.execPath, "--import", "tsx", SIDECAR, JSON.stringify(config)];
    const proc = registry.process(spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", logFd] }));
    const s = new SidecarProcess(proc);
    await waitFor(`sidecar of ${config.node}`, () => {
      if (proc.exitCode !== null) throw new Error(`sidecar of ${config.node} exited with ${proc.exitCode}`);
      return s.ready ? true : undefined;
    }, 120_000, 20);
    return s;
  }

  /** Apply link faults; resolves once the sidecar confirmed. */
  async setFaults(faults: LinkFaults): Promise<void> {
    const seq = ++this.seq;
    this.proc.stdin!.write(`${JSON.stringify({ seq, faults })}\n`);
    await waitFor("sidecar ack", () => (this.acked >= seq ? true : undefined), 10_000, 5);
  }

  /** The proxy's counters (forwarded, dropped, …). */
  async stats(): Promise<Record<string, number>> {
    const seq = ++this.seq;
    this.proc.stdin!.write(`${JSON.stringify({ seq, stats: true })}\n`);
    await waitFor("sidecar stats", () => (this.acked >= seq ? true : undefined), 10_000, 5);
    return JSON.parse(this.lastStats) as Record<string, number>;
  }

  /** Close stdin: the sidecar exits by itself. */
  stop(): void {
    this.proc.stdin?.end();
  }
}

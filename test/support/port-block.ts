/**
 * Cuts a node off from its peers on loopback with an nftables drop rule on
 * its peer port (both directions), leaving its client port reachable: the
 * partition a client connected to that node cannot see. Each block is its
 * own table with a unique name, removed by `heal()` (and by the process exit
 * hook, should a test crash). Needs root and `nft`; `available()` says why
 * not, so a test can skip with that message.
 */
import { execFileSync } from "node:child_process";

let counter = 0;
const live = new Set<string>();

function nft(args: readonly string[], input?: string): void {
  execFileSync("nft", args, { stdio: ["pipe", "ignore", "pipe"], ...(input !== undefined ? { input } : {}) });
}

process.once("exit", () => {
  for (const table of live) {
    try {
      nft(["delete", "table", "inet", table]);
    } catch {
      // already gone
    }
  }
});

/** Why port blocks cannot be used here, or undefined when they can. */
export function portBlockUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root for nftables";
  const probe = `raftbus_probe_${process.pid}`;
  try {
    nft(["add", "table", "inet", probe]);
    nft(["delete", "table", "inet", probe]);
    return undefined;
  } catch (err) {
    return `nftables unusable (${err instanceof Error ? err.message.split("\n")[0] : String(err)}); apt-get install -y nftables`;
  }
}

/** A drop rule on one TCP port; `heal()` removes it. */
export class PortBlock {
  private constructor(private readonly table: string) {}

  /** Drops every TCP packet to or from `port` (existing connections stall, new ones time out). */
  static block(port: number): PortBlock {
    const table = `raftbus_block_${process.pid}_${++counter}`;
    nft(["-f", "-"], [
      `table inet ${table} {`,
      "  chain input {",
      "    type filter hook input priority 0; policy accept;",
      `    tcp dport ${port} drop`,
      `    tcp sport ${port} drop`,
      "  }",
      "}",
      "",
    ].join("\n"));
    live.add(table);
    return new PortBlock(table);
  }

  /** Removes the rule. Idempotent. */
  heal(): void {
    if (!live.delete(this.table)) return;
    nft(["delete", "table", "inet", this.table]);
  }
}

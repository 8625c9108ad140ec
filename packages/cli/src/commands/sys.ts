/**
 * `raftbus sys status|enable|disable|set|diagnose|key`: the cluster's own
 * events (docs/system-events.md). Settings changes are replicated through
 * the log, so every node agrees; `key` prints the key clients verify
 * signatures with (offline, from the cluster secret).
 */
import { SEVERITIES, SYS_FAMILIES } from "@raftbus/client/vocabulary";
import type { SysStatusResponse } from "@raftbus/client/protocol";
import type { Argv } from "yargs";
import { renderKeyValues, renderTable } from "../output/table.ts";
import type { Args } from "../util/args.ts";
import { optString, stringList } from "../util/args.ts";
import { UsageError } from "../util/errors.ts";
import { resolveClusterSecret } from "../util/cluster-secret.ts";
import { formatDuration, parseDuration } from "../util/units.ts";
import type { Act, CommandContext } from "./context.ts";

type Settings = Record<string, Record<string, string | number | boolean>>;

/** Parse `health.intervalMs=10s alerts.minSeverity=warning metrics.enabled=false` into settings. */
export function parseSysAssignments(items: readonly string[], command: string): Settings {
  const out: Settings = {};
  for (const item of items) {
    const m = /^([a-z]+)\.([A-Za-z]+)=(.+)$/.exec(item);
    if (m === null) throw new UsageError(`"${item}" is not family.field=value (e.g. health.intervalMs=10s)`, command);
    const [, family, field, raw] = m as unknown as [string, string, string, string];
    if (!(SYS_FAMILIES as readonly string[]).includes(family)) throw new UsageError(`unknown family "${family}" (known: ${SYS_FAMILIES.join(", ")})`, command);
    let value: string | number | boolean;
    if (field === "enabled" || field === "periodic") {
      if (raw !== "true" && raw !== "false") throw new UsageError(`${family}.${field} takes true or false`, command);
      value = raw === "true";
    } else if (field === "intervalMs" || field === "interval") {
      const ms = parseDuration(raw);
      if (ms === undefined) throw new UsageError(`${family}.${field}: "${raw}" is not a duration like 30s`, command);
      value = ms;
    } else if (field === "minSeverity") {
      if (!(SEVERITIES as readonly string[]).includes(raw)) throw new UsageError(`${family}.minSeverity takes ${SEVERITIES.join(", ")}`, command);
      value = raw;
    } else {
      throw new UsageError(`${family}.${field} is not a setting (enabled, minSeverity, intervalMs, periodic)`, command);
    }
    out[family] = { ...out[family], [field === "interval" ? "intervalMs" : field]: value };
  }
  return out;
}

/** `sys status` for people. */
export function sysStatusLines(s: SysStatusResponse, style: CommandContext["out"]["style"]): string[] {
  return [
    ...renderKeyValues([
      ["node", s.nodeId],
      ["signing", s.signing === "signed" ? style("green", `HMAC-SHA-256, key ${s.keyId ?? "?"}`) : style("yellow", "unsigned (development secret)")],
      ["queued", String(s.queued)],
    ], style),
    "",
    ...renderTable([
      { header: "FAMILY", value: (f: SysStatusResponse["families"][number]) => f.family },
      { header: "STATE", value: (f) => (f.enabled ? "on" : "off"), style: (f) => (f.enabled ? "green" : "yellow") },
      { header: "MIN SEVERITY", value: (f) => f.minSeverity },
      { header: "INTERVAL", value: (f) => (f.intervalMs > 0 ? formatDuration(f.intervalMs) : "-") },
      { header: "PERIODIC", value: (f) => (f.family === "health" || f.family === "metrics" ? (f.periodic ? "yes" : "on change") : "-") },
      { header: "SOURCE", value: (f) => (f.replicated ? "runtime (sys set)" : "config") },
    ], s.families, { style }),
  ];
}

async function status(_args: Args, ctx: CommandContext): Promise<void> {
  const client = await ctx.client();
  const s = await client.sys.status({ timeoutMs: ctx.timeoutMs });
  if (ctx.json) return ctx.out.json(s);
  ctx.out.line(...sysStatusLines(s, ctx.out.style));
}

function toggle(enabled: boolean) {
  return async (args: Args, ctx: CommandContext): Promise<void> => {
    const command = `sys ${enabled ? "enable" : "disable"}`;
    const families = stringList(args, "families");
    if (families.length === 0) throw new UsageError("name at least one family", command);
    const settings = parseSysAssignments(families.map((f) => `${f}.enabled=${enabled}`), command);
    const client = await ctx.client();
    const s = await client.sys.set(settings, { timeoutMs: ctx.timeoutMs });
    if (ctx.json) return ctx.out.json(s);
    ctx.out.line(...sysStatusLines(s, ctx.out.style));
  };
}

async function set(args: Args, ctx: CommandContext): Promise<void> {
  const settings = parseSysAssignments(stringList(args, "assignments"), "sys set");
  const reset = args["reset"] === true;
  if (Object.keys(settings).length === 0 && !reset) throw new UsageError("give family.field=value pairs, or --reset", "sys set");
  const client = await ctx.client();
  const s = await client.sys.set(settings, { timeoutMs: ctx.timeoutMs, reset });
  if (ctx.json) return ctx.out.json(s);
  ctx.out.line(...sysStatusLines(s, ctx.out.style));
}

async function diagnose(args: Args, ctx: CommandContext): Promise<void> {
  const node = optString(args, "node") ?? "*";
  const client = await ctx.client();
  const requestId = await client.sys.diagnose(node, { timeoutMs: ctx.timeoutMs });
  if (ctx.json) return ctx.out.json({ requestId, node });
  ctx.out.line(`asked ${node === "*" ? "every node" : node} for a report (request ${requestId}); it arrives on $sys.diagnostics:`,
    "  raftbus sub '$sys.diagnostics' --from earliest");
}

async function key(args: Args, ctx: CommandContext): Promise<void> {
  const secret = resolveClusterSecret({ secret: optString(args, "cluster-secret"), file: optString(args, "cluster-secret-file") }, ctx.io.env);
  const clusterId = optString(args, "cluster-id") ?? ctx.io.env["RAFTBUS_CLUSTER_ID"] ?? "raftbus";
  const { deriveSysKey, formatSysKey } = await import("@raftbus/client/protocol");
  const k = formatSysKey(deriveSysKey(secret, clusterId));
  if (ctx.json) return ctx.out.json({ key: k, clusterId });
  ctx.out.line(k);
}

/** Register `sys …` under `y`. */
export function sysCommands(y: Argv, act: Act): Argv {
  return y
    .command("status", "settings of every event family and how events are signed", (yy: Argv) => yy, act("sys status", status))
    .command("enable <families..>", `turn families on, cluster-wide (${SYS_FAMILIES.join(", ")})`, (yy: Argv) => yy.positional("families", { type: "string", array: true }), act("sys enable", toggle(true)))
    .command("disable <families..>", "turn families off, cluster-wide (a family that is off costs nothing)", (yy: Argv) => yy.positional("families", { type: "string", array: true }), act("sys disable", toggle(false)))
    .command("set [assignments..]", "change settings, cluster-wide: health.intervalMs=10s health.periodic=true alerts.minSeverity=warning", (yy: Argv) => yy
      .positional("assignments", { type: "string", array: true })
      .option("reset", { type: "boolean", default: false, describe: "drop every earlier runtime change first (back to the config files)" }), act("sys set", set))
    .command("diagnose", "ask nodes to publish their Raft and broker state on $sys.diagnostics", (yy: Argv) => yy
      .option("node", { type: "string", describe: "node id (default every node)" }), act("sys diagnose", diagnose))
    .command("key", "print the key clients verify $sys. signatures with (RAFTBUS_SYSTEM_KEYS)", (yy: Argv) => yy
      .option("cluster-secret", { type: "string", describe: "default RAFTBUS_CLUSTER_SECRET" })
      .option("cluster-secret-file", { type: "string", describe: "a file holding it (default ./data/cluster-secret, what pnpm start generates)" })
      .option("cluster-id", { type: "string", describe: "default RAFTBUS_CLUSTER_ID or raftbus" }), act("sys key", key))
    .demandCommand(1, "say which: raftbus sys status|enable|disable|set|diagnose|key");
}

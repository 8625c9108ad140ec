// Reads the JSON results compare-nats.sh collected in one folder
// (raftbus-N.json from `raftbus bench --json`, nats-default-N.json and
// nats-always-N.json from nats-bench.mjs) and prints one table: the median
// (min–max) of each figure per system, and the ratio raftbus / NATS.
// Usage: node compare-report.mjs DIR [--markdown]
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";

const dir = process.argv[2];
const markdown = process.argv.includes("--markdown");
if (dir === undefined) {
  process.stderr.write("usage: node compare-report.mjs DIR [--markdown]\n");
  process.exit(2);
}

/** system → workload → runs (figures, cpu seconds of the servers). */
function load(prefix) {
  const out = new Map();
  for (const f of readdirSync(dir).filter((x) => x.startsWith(`${prefix}-`) && x.endsWith(".json")).sort()) {
    let doc;
    try {
      doc = JSON.parse(readFileSync(join(dir, f), "utf8"));
    } catch {
      process.stderr.write(`compare-report: ${f} is not complete JSON (a run cut short?); left out\n`);
      continue;
    }
    for (const r of doc.runs ?? []) {
      if (r.error !== undefined) continue;
      const servers = Object.entries(r.cost?.processes ?? {}).filter(([k]) => k !== "client");
      const serverCpu = servers.reduce((a, [, p]) => a + p.cpuSeconds, 0);
      const list = out.get(r.name) ?? [];
      list.push({ figures: r.figures, serverCpu, clientCpu: r.cost?.processes?.client?.cpuSeconds ?? 0 });
      out.set(r.name, list);
    }
  }
  return out;
}

const systems = { raftbus: load("raftbus"), natsDefault: load("nats-default"), natsAlways: load("nats-always") };
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? undefined : s[Math.floor((s.length - 1) / 2)];
};

/** Rows: [workload, figure, label, higher is better]. */
const ROWS = [
  ["publish-async-128", "msgPerSec", "async publish 128 B, window 1,000 (msg/s)", true],
  ["publish-async-1k", "msgPerSec", "async publish 1 KB, window 1,000 (msg/s)", true],
  ["publish-sync", "p50Ms", "sync publish p50 (ms)", false],
  ["publish-sync", "p99Ms", "sync publish p99 (ms)", false],
  ["publish-concurrent-64", "msgPerSec", "64 concurrent single publishes (msg/s)", true],
  ["consume-durable", "msgPerSec", "durable consumer, explicit acks (msg/s)", true],
  ["work-queue-3", "msgPerSec", "work queue, 3 members (msg/s)", true],
  ["fanout-10", "deliveriesPerSec", "fan-out to 10 wildcard subscribers (deliveries/s)", true],
  ["e2e-500", "p50Ms", "end-to-end at 500 msg/s p50 (ms)", false],
  ["e2e-500", "p99Ms", "end-to-end at 500 msg/s p99 (ms)", false],
  ["e2e-5000", "p50Ms", "end-to-end at 5,000 msg/s p50 (ms)", false],
  ["e2e-5000", "p99Ms", "end-to-end at 5,000 msg/s p99 (ms)", false],
];

function cell(system, workload, figure) {
  const runs = system.get(workload) ?? [];
  const xs = runs.map((r) => r.figures[figure]).filter((x) => typeof x === "number");
  if (xs.length === 0) return undefined;
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length, cpu: median(runs.map((r) => r.serverCpu)) };
}
const fmt = (c) => (c === undefined ? "–" : `${c.median.toLocaleString("en-US")} (${c.min.toLocaleString("en-US")}–${c.max.toLocaleString("en-US")})`);
const ratio = (a, b) => (a === undefined || b === undefined || b.median === 0 ? "–" : `${(a.median / b.median).toFixed(2)}×`);

const header = ["workload", "raftbus", "NATS default sync", "raftbus / NATS default", "NATS fsync always", "raftbus / NATS always"];
const rows = ROWS.map(([w, f, label]) => {
  const a = cell(systems.raftbus, w, f);
  const d = cell(systems.natsDefault, w, f);
  const s = cell(systems.natsAlways, w, f);
  return [label, fmt(a), fmt(d), ratio(a, d), fmt(s), ratio(a, s)];
}).filter((r) => r.slice(1).some((c) => c !== "–"));

const runsOf = (sys) => Math.max(0, ...[...sys.values()].map((x) => x.length));
const conditions = `${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? "?"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ` +
  `runs: raftbus ${runsOf(systems.raftbus)}, NATS default ${runsOf(systems.natsDefault)}, NATS always ${runsOf(systems.natsAlways)} (median, min–max); ` +
  "ratios are raftbus / NATS (above 1 is better for rates, below 1 is better for latencies)";

let text;
if (markdown) {
  text = [`${conditions}`, "", `| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
} else {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => c.padEnd(widths[i])).join("  ");
  text = [conditions, "", line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
process.stdout.write(`${text}\n`);
// CPU seconds of the servers (all nodes together), median per workload, for the record.
const cpuRows = [...new Set(ROWS.map((r) => r[0]))].map((w) => {
  const c = (sys) => median((sys.get(w) ?? []).map((r) => r.serverCpu));
  const v = [c(systems.raftbus), c(systems.natsDefault), c(systems.natsAlways)].map((x) => (x === undefined ? "–" : x.toFixed(1)));
  return v.every((x) => x === "–") ? undefined : `${w}: server CPU s raftbus ${v[0]}, NATS default ${v[1]}, NATS always ${v[2]}`;
}).filter((r) => r !== undefined);
process.stdout.write(`\n${cpuRows.join("\n")}\n`);
writeFileSync(join(dir, "comparison.txt"), `${text}\n\n${cpuRows.join("\n")}\n`);

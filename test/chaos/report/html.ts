/**
 * The self-contained HTML page of a run: verdicts, throughput and latency
 * over time as inline SVG with the fault windows shaded (as Jepsen's
 * reports do), the schedule and the replicas. No scripts, no external
 * assets: the file opens anywhere and can be attached to an issue.
 */
import type { Bucket } from "../check/availability.ts";
import type { ChaosReport } from "./report.ts";

const W = 1000;
const H = 220;
const M = { l: 56, r: 12, t: 14, b: 28 };
const COLORS = ["#e6550d", "#3182bd", "#31a354", "#756bb1", "#de2d26", "#636363", "#fd8d3c", "#6baed6", "#74c476", "#9e9ac8", "#fc9272", "#bdbdbd"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

interface Series {
  readonly name: string;
  readonly color: string;
  readonly value: (b: Bucket) => number;
}

function chart(title: string, r: ChaosReport, series: readonly Series[], unit: string, log = false): string {
  const tl = r.availability.timeline;
  const tMax = Math.max(1, tl.length, r.timeMs / 1000);
  const vMax = Math.max(1, ...tl.flatMap((b) => series.map((s) => s.value(b))));
  const x = (t: number) => M.l + ((W - M.l - M.r) * t) / tMax;
  const scale = (v: number) => (log ? Math.log10(1 + v) / Math.log10(1 + vMax) : v / vMax);
  const y = (v: number) => H - M.b - (H - M.t - M.b) * scale(v);
  const kinds = [...new Set(r.availability.windows.map((w) => w.kind))];
  const shades = r.availability.windows.map((w) => {
    const c = COLORS[kinds.indexOf(w.kind) % COLORS.length]!;
    return `<rect x="${x(w.start / 1000).toFixed(1)}" y="${M.t}" width="${Math.max(1, x(w.end / 1000) - x(w.start / 1000)).toFixed(1)}" height="${H - M.t - M.b}" fill="${c}" opacity="0.15"><title>${esc(`${w.kind}: ${w.detail}`)}</title></rect>`;
  }).join("");
  const lines = series.map((s) => {
    const pts = tl.map((b) => `${x(b.t + 0.5).toFixed(1)},${y(s.value(b)).toFixed(1)}`).join(" ");
    return `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts}"/>`;
  }).join("");
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = log ? Math.pow(10, f * Math.log10(1 + vMax)) - 1 : f * vMax;
    return `<text x="${M.l - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text><line x1="${M.l}" x2="${W - M.r}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`;
  }).join("");
  const xt = Array.from({ length: 11 }, (_, i) => (tMax * i) / 10).map((t) => `<text x="${x(t)}" y="${H - 8}" text-anchor="middle">${Math.round(t)}s</text>`).join("");
  const legend = series.map((s, i) => `<tspan fill="${s.color}" dx="${i === 0 ? 0 : 14}">■ ${esc(s.name)}</tspan>`).join("");
  return `<h3>${esc(title)} <small>(${esc(unit)}${log ? ", log scale" : ""})</small></h3>
<svg viewBox="0 0 ${W} ${H}" width="100%" font-size="11" font-family="sans-serif">${shades}${ticks}${xt}${lines}
<text x="${M.l + 4}" y="${M.t + 10}">${legend}</text></svg>`;
}

/** Render the page. */
export function renderHtml(r: ChaosReport): string {
  const kinds = [...new Set(r.availability.windows.map((w) => w.kind))];
  const faultLegend = kinds.map((k, i) => `<span class="chip" style="background:${COLORS[i % COLORS.length]}33">${esc(k)}</span>`).join(" ");
  const label = (v: ChaosReport["verdicts"][number]) => (v.ok ? "ok" : v.severity === "warning" ? "WARN" : v.severity === "liveness" ? "LATE" : "FAIL");
  const verdicts = r.verdicts.map((v) => `<tr class="${v.ok ? "ok" : v.severity === "warning" ? "warn" : v.severity === "liveness" ? "late" : "fail"}"><td>${esc(v.name)}</td><td>${label(v)}</td><td>${v.count}</td><td>${esc(v.checked)}${v.samples.length > 0 ? `<ul>${v.samples.map((s) => `<li>${esc(s)}</li>`).join("")}</ul>` : ""}</td></tr>`).join("");
  const a = r.availability;
  const share = (s: { ok: number; total: number } | undefined) => (s === undefined || s.total === 0 ? "–" : `${((100 * s.ok) / s.total).toFixed(1)}% of ${s.total}`);
  const avail = ["publish", "produce", "request"].map((f) => `<tr><td>${f}</td><td>${share(a.inFaults[f])}</td><td>${share(a.outsideFaults[f])}</td></tr>`).join("");
  const windows = a.windows.map((w, i) => {
    const heal = a.healToPublishMs[i]?.ms;
    return `<tr><td>${(w.start / 1000).toFixed(1)}–${(w.end / 1000).toFixed(1)} s</td><td>${esc(w.kind)}</td><td>${esc(w.detail)}</td><td>${heal === null || heal === undefined ? "–" : `${heal} ms`}</td></tr>`;
  }).join("");
  const replicas = r.replicas.map((x) => `<tr><td>${esc(x.id)}</td><td>${x.commitIndex}</td><td>${x.appliedIndex}</td><td>${x.comparedAt}</td><td><code>${esc(x.digest.slice(0, 16))}</code></td><td>${esc(x.error ?? "")}</td></tr>`).join("");
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>raftbus chaos — seed ${r.seed} — ${r.ok ? "ok" : "FAILED"}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}td,th{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top;font-size:13px}
tr.fail td{background:#fde0dc}tr.late td{background:#ffe9cc}tr.warn td{background:#fff4ce}tr.ok td:nth-child(2){color:#2a7d2a}
.badge{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;background:${r.ok ? "#2a7d2a" : "#c0392b"}}
.chip{display:inline-block;padding:1px 6px;margin:2px;border-radius:3px;font-size:12px}code{font-size:12px}ul{margin:.2em 0;padding-left:1.2em}
</style></head><body>
<h1>raftbus chaos run <span class="badge">${r.ok ? "no safety violation" : "SAFETY VIOLATIONS"}</span></h1>
<p>seed <b>${r.seed}</b> · ${Math.round(r.timeMs / 1000)} s of faults · layer ${esc(r.layer)} · ${r.nodes} nodes · started ${esc(r.startedAt)} · wall ${(r.wallMs / 1000).toFixed(0)} s${r.unsafe !== undefined ? ` · <b>UNSAFE switch: ${esc(r.unsafe)}</b>` : ""}</p>
<p>replay: <code>${esc(r.replay)}</code></p>
<p>operations: ${Object.entries(r.counts).map(([k, v]) => `${esc(k)} ${v}`).join(" · ")}</p>
<h2>Verdicts</h2><table><tr><th>check</th><th>verdict</th><th>count</th><th>what was checked</th></tr>${verdicts}</table>
<h2>Throughput and latency</h2><p>fault windows: ${faultLegend || "none"}</p>
${chart("Acknowledged and failed publishes per second", r, [{ name: "acked", color: "#31a354", value: (b) => b.ok }, { name: "failed or unknown", color: "#de2d26", value: (b) => b.failed }], "ops/s")}
${chart("Publish latency", r, [{ name: "p50", color: "#3182bd", value: (b) => b.p50Ms }, { name: "p99", color: "#e6550d", value: (b) => b.p99Ms }, { name: "max", color: "#bdbdbd", value: (b) => b.maxMs }], "ms", true)}
<h2>Availability</h2><table><tr><th>operation</th><th>succeeded in fault windows</th><th>outside</th></tr>${avail}</table>
<h2>Faults</h2><table><tr><th>window</th><th>kind</th><th>what</th><th>heal → next acked publish</th></tr>${windows}</table>
<h2>Replicas</h2><table><tr><th>node</th><th>commit</th><th>applied on disk</th><th>compared at</th><th>state digest</th><th>error</th></tr>${replicas}</table>
${r.notes.length > 0 ? `<h2>Notes</h2><ul>${r.notes.slice(0, 200).map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : ""}
</body></html>
`;
}

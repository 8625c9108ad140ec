/**
 * HTTP on the client port (SPEC §7): /healthz (the process is up), /readyz
 * (member of a cluster with a known leader and caught up), /v1/status (JSON)
 * and /metrics (Prometheus text format).
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** What the routes read from the node. */
export interface StatusSource {
  status(): NodeStatus;
  metrics(): readonly Metric[];
}

/** The JSON of /v1/status. */
export interface NodeStatus {
  readonly nodeId: string;
  readonly role: string;
  readonly term: number;
  readonly leaderId: string | null;
  readonly leaderAddress: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly voters: readonly string[];
  readonly learners: readonly string[];
  readonly peers: readonly { id: string; matchIndex: number | null; lastContactMs: number | null; clientAddress: string | null }[];
  readonly sessions: number;
  readonly startedAt: number;
}

/** One Prometheus sample. */
export interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: "gauge" | "counter";
  readonly value: number;
  readonly labels?: Readonly<Record<string, string>>;
}

/** Entries the applied index may trail the commit index by and still count as ready. */
const READY_APPLY_LAG_MAX = 1000;

/** Handle one HTTP request; returns false when the path is not ours. */
export function handleHttp(req: IncomingMessage, res: ServerResponse, src: StatusSource): boolean {
  const path = (req.url ?? "/").split("?")[0];
  if (req.method !== "GET" && req.method !== "HEAD") {
    if (path === "/healthz" || path === "/readyz" || path === "/v1/status" || path === "/metrics") {
      json(res, 405, { error: { code: "BAD_REQUEST", message: "use GET" } });
      return true;
    }
  }
  switch (path) {
    case "/healthz":
      json(res, 200, { status: "ok", nodeId: src.status().nodeId });
      return true;
    case "/readyz": {
      const s = src.status();
      const reason = s.leaderId === null ? "no known leader"
        : s.commitIndex - s.appliedIndex > READY_APPLY_LAG_MAX ? `applied index ${s.appliedIndex} trails commit ${s.commitIndex}`
        : !s.voters.includes(s.nodeId) && !s.learners.includes(s.nodeId) ? "not a member of the cluster"
        : undefined;
      json(res, reason === undefined ? 200 : 503, reason === undefined ? { ready: true, leaderId: s.leaderId } : { ready: false, reason });
      return true;
    }
    case "/v1/status":
      json(res, 200, src.status());
      return true;
    case "/metrics":
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(renderPrometheus(src.metrics()));
      return true;
    default:
      return false;
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** Prometheus text exposition format. */
export function renderPrometheus(metrics: readonly Metric[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const m of metrics) {
    if (!seen.has(m.name)) {
      seen.add(m.name);
      lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
    }
    const labels = m.labels && Object.keys(m.labels).length > 0
      ? `{${Object.entries(m.labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`).join(",")}}`
      : "";
    lines.push(`${m.name}${labels} ${Number.isFinite(m.value) ? m.value : 0}`);
  }
  return lines.join("\n") + "\n";
}

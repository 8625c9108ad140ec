/**
 * HTTP on the client port (SPEC §7): /healthz (the process is up), /readyz
 * (member of a cluster with a known leader and caught up), /v1/status (JSON)
 * and /metrics (Prometheus text format, from prom-client).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DiskReport } from "./storage-guard.ts";

/** What the routes read from the node. */
export interface StatusSource {
  status(): NodeStatus;
  /** The state digest after entry `index`, when this node still remembers it (see /v1/digest). */
  digestAt(index: number): string | undefined;
  /** The Prometheus exposition and its content type. */
  metricsText(): Promise<{ readonly contentType: string; readonly text: string }>;
  /** System-event settings and signing of this node (`sys.status`). */
  sysStatus(): unknown;
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
  /** The state digest at appliedIndex (broker state/digest.ts), hex. */
  readonly stateDigest: string;
  readonly lastIndex: number;
  /** False for a removed node (or one not in its configuration); `notMemberReason` then says why. */
  readonly member: boolean;
  readonly notMemberReason?: string;
  /** The configuration: the node's own, or for a removed node the committed one its leader reported. */
  readonly voters: readonly string[];
  readonly learners: readonly string[];
  readonly peers: readonly { id: string; matchIndex: number | null; lastContactMs: number | null; clientAddress: string | null }[];
  readonly sessions: number;
  readonly startedAt: number;
  /** The cluster version in force here, and the highest this node's build implements (version/cluster-version.ts). */
  readonly version: { readonly clusterVersion: number; readonly clusterVersionMax: number };
  /** Free space under the data directory against diskFreeMinBytes (storage-guard.ts); the leader reads it from every voter. */
  readonly disk?: DiskReport;
}

/** Entries the applied index may trail the commit index by and still count as ready. */
const READY_APPLY_LAG_MAX = 1000;

/** Handle one HTTP request; returns false when the path is not ours. */
export function handleHttp(req: IncomingMessage, res: ServerResponse, src: StatusSource): boolean {
  const path = (req.url ?? "/").split("?")[0];
  if (req.method !== "GET" && req.method !== "HEAD") {
    if (path === "/healthz" || path === "/readyz" || path === "/v1/status" || path === "/v1/digest" || path === "/v1/sys" || path === "/metrics") {
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
      const reason = !s.member ? `not a member: ${s.notMemberReason ?? "removed from the cluster"}`
        : s.leaderId === null ? "no known leader"
        : s.commitIndex - s.appliedIndex > READY_APPLY_LAG_MAX ? `applied index ${s.appliedIndex} trails commit ${s.commitIndex}`
        : undefined;
      json(res, reason === undefined ? 200 : 503, reason === undefined ? { ready: true, leaderId: s.leaderId } : { ready: false, reason });
      return true;
    }
    case "/v1/status":
      json(res, 200, src.status());
      return true;
    case "/v1/digest": {
      // ?index=N: the state digest after entry N, for comparing replicas at one index (cluster status).
      const raw = new URLSearchParams((req.url ?? "").split("?")[1] ?? "").get("index");
      const index = raw === null || !/^\d{1,15}$/.test(raw) ? Number.NaN : Number(raw);
      if (!Number.isSafeInteger(index)) {
        json(res, 400, { error: { code: "INVALID_ARGUMENT", message: "give ?index=<applied index>" } });
        return true;
      }
      json(res, 200, { index, digest: src.digestAt(index) ?? null });
      return true;
    }
    case "/v1/sys":
      json(res, 200, src.sysStatus());
      return true;
    case "/metrics":
      src.metricsText().then(
        (m) => {
          res.writeHead(200, { "content-type": m.contentType });
          res.end(m.text);
        },
        (err: unknown) => json(res, 500, { error: { code: "INTERNAL", message: `metrics failed: ${String(err)}` } }),
      );
      return true;
    default:
      return false;
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/**
 * The live dashboard: runs in the browser on the SDK's browser build and
 * learns everything from the cluster's own `$sys.` events (no polling loop
 * of its own). One fetch of /v1/status at start names every member, so the
 * SDK can follow the leader to any node when the one serving the page or
 * the leader dies. Signatures are verified with the key in the page's
 * fragment (`#key=rbsk1.…`, never sent to the server).
 */
import { connect } from "@raftbus/client";
import type { Msg } from "@raftbus/client";

interface Event {
  readonly family: string;
  readonly kind: string;
  readonly node: string;
  readonly at: number;
  readonly severity: string;
  readonly data: Record<string, unknown>;
}

interface Member {
  id: string;
  role: string;
  reachable: boolean;
  lagEntries: number | null;
  lastContactMs: number | null;
  term: number | null;
  commitIndex: number | null;
  appliedIndex: number | null;
  status: string;
  at: number;
}

/** Events shown per list; points per sparkline. */
const LIST_MAX = 50;
const SPARK_POINTS = 60;
/** On load, replay this much history of the `$sys.` topics (their retention bounds it too). */
const HISTORY_MS = 15 * 60_000;

const members = new Map<string, Member>();
let leader: { id: string | null; term: number; at: number } = { id: null, term: -1, at: 0 };
let clusterStatus: { status: string; at: number } = { status: "?", at: 0 };
const spark = new Map<string, number[]>();
const topics = new Map<string, { messages: number; bytes: number; dlqSize: number; publishPerSec?: number }>();
/** Subscriptions by backlog, as the last metrics.broker event listed them. */
let consumers: { name: string; pending: number; outstanding: number }[] = [];
let verified = 0;
let unverified = 0;
let lastVerification = "";

const $ = (id: string): HTMLElement => document.getElementById(id)!;

function text(tag: string, content: string, cls?: string): HTMLElement {
  const e = document.createElement(tag);
  e.textContent = content;
  if (cls !== undefined) e.className = cls;
  return e;
}

function member(id: string): Member {
  let m = members.get(id);
  if (m === undefined) {
    m = { id, role: "?", reachable: true, lagEntries: null, lastContactMs: null, term: null, commitIndex: null, appliedIndex: null, status: "?", at: 0 };
    members.set(id, m);
  }
  return m;
}

function noteLeader(id: string | null, term: number, at: number): void {
  if (term > leader.term || (term === leader.term && at >= leader.at)) leader = { id, term, at };
}

function onEvent(msg: Msg): void {
  let ev: Event;
  try {
    ev = msg.json<Event>();
  } catch {
    return;
  }
  if (typeof ev !== "object" || ev === null || typeof ev.family !== "string" || typeof ev.data !== "object") return; // control documents
  if (msg.verified) verified++;
  else {
    unverified++;
    lastVerification = msg.verification;
  }
  const d = ev.data;
  switch (ev.kind) {
    case "cluster.health": {
      if (ev.at < clusterStatus.at) break;
      clusterStatus = { status: String(d["status"]), at: ev.at };
      noteLeader(String(d["leader"]), Number(d["term"]), ev.at);
      for (const x of d["members"] as Record<string, unknown>[]) {
        const m = member(String(x["id"]));
        m.role = String(x["id"]) === d["leader"] ? "leader" : String(x["role"]);
        m.reachable = x["reachable"] === true;
        m.lagEntries = x["lagEntries"] as number | null;
        m.lastContactMs = x["lastContactMs"] as number | null;
        if (!m.reachable) m.status = "unreachable";
        else if (m.status === "unreachable") m.status = "?";
      }
      break;
    }
    case "node.health": {
      const m = member(ev.node);
      if (ev.at < m.at) break;
      m.at = ev.at;
      m.term = d["term"] as number;
      m.commitIndex = d["commitIndex"] as number;
      m.appliedIndex = d["appliedIndex"] as number;
      if (m.reachable) m.status = String(d["status"]);
      if (m.role === "?" || ev.at >= leader.at) m.role = String(d["role"]);
      if (d["role"] === "leader") noteLeader(ev.node, Number(d["term"]), ev.at);
      break;
    }
    case "leader.elected":
      noteLeader(ev.node, Number(d["term"]), ev.at);
      break;
    case "node.started":
      member(ev.node);
      break;
    case "metrics.broker":
      push("publish", Number(d["publishPerSec"]));
      push("deliver", Number(d["deliverPerSec"]));
      push("commit", d["publishCommitP99Ms"] === null ? NaN : Number(d["publishCommitP99Ms"]));
      topics.clear();
      for (const t of d["topics"] as { name: string; messages: number; bytes: number; dlqSize: number; publishPerSec?: number }[]) topics.set(t.name, t);
      // Absent in events from nodes of an older release.
      consumers = Array.isArray(d["subscriptions"]) ? (d["subscriptions"] as typeof consumers) : [];
      $("metrics-hint").hidden = true;
      break;
    case "metrics.persistence":
      if (ev.node === leader.id) push("fsync", d["fsyncP99Ms"] === null ? NaN : Number(d["fsyncP99Ms"]));
      break;
    default:
      break;
  }
  if (ev.family === "alerts") prepend("alerts", ev, `${ev.kind === "alert.firing" ? "FIRING" : "resolved"} ${String(d["alert"])} ${String(d["subject"])}: ${String(d["message"])}`, ev.kind === "alert.firing" ? (ev.severity === "critical" ? "bad" : "warn") : "ok");
  if (ev.family === "audit") prepend("audit", ev, `${String(d["action"])} ${String(d["target"])} by ${String((d["by"] as { client?: string } | undefined)?.client ?? "?")}`);
  if (ev.family !== "health" && ev.family !== "metrics") prepend("events", ev, `${msg.topic} ${ev.kind} (${ev.node})`, ev.severity === "critical" ? "bad" : ev.severity === "warning" ? "warn" : undefined);
  render();
}

function push(name: string, v: number): void {
  const s = spark.get(name) ?? [];
  s.push(v);
  if (s.length > SPARK_POINTS) s.shift();
  spark.set(name, s);
}

function prepend(list: string, ev: Event, line: string, cls?: string): void {
  const ul = $(list);
  const li = text("li", "", cls);
  li.append(text("time", new Date(ev.at).toLocaleTimeString()), document.createTextNode(line));
  ul.prepend(li);
  while (ul.children.length > LIST_MAX) ul.lastElementChild?.remove();
}

let scheduled = false;
function render(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    draw();
  });
}

function draw(): void {
  $("leader").textContent = `leader ${leader.id ?? "?"} · term ${leader.term < 0 ? "?" : leader.term}`;
  const c = $("cluster");
  c.textContent = `cluster ${clusterStatus.status}`;
  c.className = `pill ${clusterStatus.status === "healthy" ? "ok" : clusterStatus.status === "degraded" ? "warn" : clusterStatus.status === "?" ? "" : "bad"}`;
  const v = $("verify");
  v.textContent = unverified === 0 && verified > 0 ? `✓ ${verified} signatures verified` : `${verified} verified · ${unverified} not (${lastVerification})`;
  v.className = `pill ${unverified === 0 && verified > 0 ? "ok" : "warn"}`;
  const body = $("members").querySelector("tbody")!;
  body.replaceChildren();
  for (const m of [...members.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    const role = m.id === leader.id ? "leader" : m.role === "leader" ? "follower" : m.role;
    const tr = document.createElement("tr");
    tr.dataset["member"] = m.id;
    tr.dataset["role"] = role;
    tr.dataset["reachable"] = String(m.reachable);
    const health = m.reachable ? m.status : "unreachable";
    tr.append(
      text("td", m.id), text("td", role, role === "leader" ? "ok" : undefined),
      text("td", health, health === "healthy" ? "ok" : health === "unreachable" || health === "unhealthy" ? "bad" : health === "?" ? undefined : "warn"),
      text("td", m.term === null ? "–" : String(m.term)), text("td", m.commitIndex === null ? "–" : String(m.commitIndex)),
      text("td", m.appliedIndex === null ? "–" : String(m.appliedIndex)), text("td", m.lagEntries === null ? "–" : String(m.lagEntries)),
      text("td", m.lastContactMs === null ? "–" : `${m.lastContactMs} ms`),
    );
    body.append(tr);
  }
  const tb = $("topics").querySelector("tbody")!;
  tb.replaceChildren();
  for (const [name, t] of topics) {
    const tr = document.createElement("tr");
    tr.append(text("td", name), text("td", t.publishPerSec === undefined ? "–" : String(t.publishPerSec)), text("td", String(t.messages)),
      text("td", String(t.bytes)), text("td", String(t.dlqSize), t.dlqSize > 0 ? "warn" : undefined));
    tb.append(tr);
  }
  const cb = $("consumers").querySelector("tbody")!;
  cb.replaceChildren();
  for (const c of consumers) {
    const tr = document.createElement("tr");
    tr.dataset["subscription"] = c.name;
    tr.dataset["lag"] = String(c.pending);
    tr.append(text("td", c.name), text("td", String(c.pending), c.pending > 0 ? "warn" : undefined), text("td", String(c.outstanding)));
    cb.append(tr);
  }
  for (const [name, values] of spark) {
    const svg = document.getElementById(`spark-${name}`);
    if (svg === null) continue;
    const finite = values.filter(Number.isFinite);
    const max = Math.max(1, ...finite);
    const pts = values.map((x, i) => `${(i / Math.max(1, SPARK_POINTS - 1)) * 120},${30 - ((Number.isFinite(x) ? x : 0) / max) * 28}`).join(" ");
    svg.innerHTML = `<polyline points="${pts}"/>`;
    $(`v-${name}`).textContent = finite.length > 0 ? String(Math.round(finite[finite.length - 1]! * 10) / 10) : "–";
  }
}

async function main(): Promise<void> {
  const here = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`;
  const servers = [here];
  try {
    const st = (await (await fetch("/v1/status")).json()) as { peers?: { clientAddress: string | null }[] };
    for (const p of st.peers ?? []) if (p.clientAddress !== null && !servers.includes(p.clientAddress)) servers.push(p.clientAddress);
  } catch {
    // The serving node alone will do.
  }
  const fragment = new URLSearchParams(location.hash.slice(1));
  const key = fragment.get("key") ?? localStorage.getItem("raftbus.systemKey");
  if (key !== null) localStorage.setItem("raftbus.systemKey", key);
  // The token (needs sub:$sys.**) comes in the fragment, which the browser never sends to a server, and is remembered here.
  const token = fragment.get("token") ?? localStorage.getItem("raftbus.token");
  if (token !== null) localStorage.setItem("raftbus.token", token);
  const conn = $("conn");
  const client = await connect({
    servers, name: "raftbus-dashboard", ...(key !== null ? { systemKeys: [key] } : {}), ...(token !== null ? { token } : {}),
    onStatus: (e) => {
      if (e.type === "connected") conn.textContent = `connected to ${e.nodeId}`;
      else if (e.type === "disconnected" || e.type === "reconnecting") conn.textContent = e.type;
      else return;
      conn.className = `pill ${e.type === "connected" ? "ok" : "warn"}`;
    },
  });
  conn.textContent = `connected to ${client.info?.nodeId ?? "?"}`;
  conn.className = "pill ok";
  await client.subscribe("$sys.**", { from: { time: Date.now() - HISTORY_MS }, guarantee: "at-most-once", maxInFlight: 1000, handler: onEvent });
}

main().catch((err: unknown) => {
  const conn = $("conn");
  const unauthorized = (err as { code?: unknown } | null)?.code === "UNAUTHORIZED";
  conn.textContent = `error: ${err instanceof Error ? err.message : String(err)}${unauthorized ? " — open this page as /#token=<a token with sub:$sys.**> (raftbus cluster up prints the link)" : ""}`;
  conn.className = "pill bad";
});

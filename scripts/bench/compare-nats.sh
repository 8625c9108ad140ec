#!/usr/bin/env bash
# raftbus side by side with NATS JetStream, on this machine (../shared/BENCHMARKS.md
# says how the reference figures are taken):
#
#   scripts/bench/compare-nats.sh [--runs N] [--quick] [workload…]
#   (RAFTBUS_COMPARE_RUN_TIMEOUT bounds each system's run, default 20m)
#
# - installs Debian's nats-server if missing (apt-get, as root), and the NATS
#   JavaScript client (@nats-io/transport-node + @nats-io/jetstream 3.4) into a
#   scratch folder outside the workspace ($RAFTBUS_NATS_SCRATCH, default
#   ~/.cache/raftbus-nats-bench) — never into the project's dependencies;
# - builds raftbus (pnpm run build) and runs `raftbus bench --json`, which
#   starts its own three nodes with the defaults of `pnpm start`;
# - starts a three-server JetStream cluster on 127.0.0.1 (one stream on
#   bench.>, R3, file storage) once with the default sync and once with
#   every write synchronous (`chattr +S` on the store directories: on 2.9
#   that is the effect of 2.10's sync_interval: always; publish workloads only);
# - alternates the systems run by run (at least 3 runs each by default),
#   then prints one table with medians (min–max) and the ratio raftbus/NATS;
# - stops every process it started, by PID, whatever happens.
#
# Results (JSON per run, the table as comparison.txt) stay in the printed folder.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUNS=3
QUICK=()
WORKLOADS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --quick) QUICK=(--quick); shift ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "compare-nats: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) WORKLOADS+=("$1"); shift ;;
  esac
done
if ! [[ "$RUNS" =~ ^[1-9][0-9]*$ ]]; then echo "compare-nats: --runs must be a positive integer" >&2; exit 2; fi

# Every run is bounded: a system that hangs loses that run, not the comparison.
RUN_TIMEOUT="${RAFTBUS_COMPARE_RUN_TIMEOUT:-20m}"
SCRATCH="${RAFTBUS_NATS_SCRATCH:-$HOME/.cache/raftbus-nats-bench}"
OUT="$(mktemp -d "${TMPDIR:-/var/tmp}/raftbus-compare-XXXXXX")"
# Publish workloads only with fsync-always (consuming a backlog written at ~1,000 msg/s would take minutes).
SYNC_WORKLOADS=(publish-async-128 publish-async-1k publish-sync publish-concurrent-64)
NATS_PIDS=()
NATS_URL=""

log() { printf '%s\n' "$*" >&2; }

stop_nats() {
  local pid
  for pid in "${NATS_PIDS[@]:-}"; do [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${NATS_PIDS[@]:-}"; do
    [ -z "$pid" ] && continue
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  NATS_PIDS=()
NATS_URL=""
}

cleanup() {
  stop_nats
  # The stores go (chattr +S directories are removed like any other); the results stay.
  rm -rf "$OUT"/nats-*-store-*
  log "results: $OUT (comparison.txt and one JSON file per run)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ensure_nats_server() {
  if command -v nats-server >/dev/null 2>&1; then return; fi
  if [ "$(id -u)" != 0 ]; then
    log "compare-nats: nats-server is not installed; run: sudo apt-get install -y nats-server"
    exit 2
  fi
  log "installing nats-server (apt-get)…"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
}

ensure_nats_client() {
  if [ ! -f "$SCRATCH/node_modules/@nats-io/jetstream/package.json" ] || [ ! -f "$SCRATCH/node_modules/@nats-io/transport-node/package.json" ]; then
    log "installing the NATS JavaScript client into $SCRATCH (outside the workspace)…"
    mkdir -p "$SCRATCH"
    (cd "$SCRATCH" && { [ -f package.json ] || printf '{ "name": "raftbus-nats-bench", "private": true, "type": "module" }\n' > package.json; } &&
      npm install --no-audit --no-fund --loglevel=error @nats-io/transport-node@3.4.0 @nats-io/jetstream@3.4.0 >/dev/null)
  fi
  cp "$ROOT/scripts/bench/nats-bench.mjs" "$SCRATCH/nats-bench.mjs"
}

free_ports() { # $1 = how many
  node -e '
    const net = require("node:net");
    const n = Number(process.argv[1]); const ports = []; const servers = [];
    (async () => {
      for (let i = 0; i < n; i++) {
        const s = net.createServer(); servers.push(s);
        await new Promise((r) => s.listen(0, "127.0.0.1", r)); ports.push(s.address().port);
      }
      for (const s of servers) s.close();
      console.log(ports.join(" "));
    })();' "$1"
}

# start_nats MODE RUN — three JetStream servers (PIDs in NATS_PIDS, client URL in NATS_URL). MODE: default | always.
# Runs in this shell (not in a command substitution), so every PID it starts is known to stop_nats.
start_nats() {
  local mode="$1" run="$2" ports i conf store routes url=""
  read -r -a ports <<< "$(free_ports 9)"
  routes="nats-route://127.0.0.1:${ports[3]},nats-route://127.0.0.1:${ports[4]},nats-route://127.0.0.1:${ports[5]}"
  for i in 0 1 2; do
    store="$OUT/nats-$mode-store-$run-n$((i + 1))"
    mkdir -p "$store"
    if [ "$mode" = always ]; then
      # Every write to the store synchronous: fsync-always on 2.9 (BENCHMARKS.md).
      if ! chattr +S "$store" 2>/dev/null; then log "compare-nats: chattr +S failed on $store (filesystem?); skipping NATS fsync-always"; return 1; fi
    fi
    conf="$OUT/nats-$mode-$run-n$((i + 1)).conf"
    cat > "$conf" <<EOF
server_name: n$((i + 1))
listen: 127.0.0.1:${ports[$i]}
http: 127.0.0.1:${ports[$((i + 6))]}
jetstream { store_dir: "$store", max_memory_store: 1GB, max_file_store: 20GB }
cluster { name: raftbus-bench, listen: 127.0.0.1:${ports[$((i + 3))]}, routes: [ $routes ] }
EOF
    nats-server -c "$conf" > "$OUT/nats-$mode-$run-n$((i + 1)).log" 2>&1 &
    NATS_PIDS+=($!)
    url="${url:+$url,}nats://127.0.0.1:${ports[$i]}"
  done
  # Ready: every server's JetStream answers /healthz (2.9: healthz checks JetStream and the meta leader).
  for _ in $(seq 1 300); do
    local ok=0
    for i in 6 7 8; do
      curl -fs "http://127.0.0.1:${ports[$i]}/healthz" >/dev/null 2>&1 && ok=$((ok + 1))
    done
    [ "$ok" = 3 ] && { NATS_URL="$url"; return 0; }
    sleep 0.2
  done
  log "compare-nats: the NATS cluster did not become ready; see $OUT/nats-$mode-$run-*.log"
  return 1
}

run_nats() { # MODE RUN workloads…
  local mode="$1" run="$2"; shift 2
  if ! start_nats "$mode" "$run"; then stop_nats; return 0; fi
  log "run $run: NATS JetStream ($mode sync) at $NATS_URL"
  (cd "$SCRATCH" && timeout --kill-after=30s "$RUN_TIMEOUT" node nats-bench.mjs --servers "$NATS_URL" --pids "$(IFS=,; echo "${NATS_PIDS[*]}")" "${QUICK[@]}" "$@") > "$OUT/nats-$mode-$run.json" ||
    log "compare-nats: nats-bench failed in run $run ($mode)"
  stop_nats
}

command -v curl >/dev/null 2>&1 || { log "compare-nats: needs curl"; exit 2; }
ensure_nats_server
ensure_nats_client
log "building raftbus (pnpm run build)…"
(cd "$ROOT" && pnpm -s run build >/dev/null)

# The always-sync runs take only the publish workloads (of those asked for).
SYNC_ONLY=()
for w in "${SYNC_WORKLOADS[@]}"; do
  if [ ${#WORKLOADS[@]} -eq 0 ] || [[ " ${WORKLOADS[*]} " == *" $w "* ]]; then SYNC_ONLY+=("$w"); fi
done

for run in $(seq 1 "$RUNS"); do
  log "run $run of $RUNS: raftbus"
  # On timeout's SIGTERM, raftbus bench stops the nodes it started before it exits.
  (cd "$ROOT" && timeout --kill-after=60s "$RUN_TIMEOUT" node packages/cli/dist/bin.js bench --json "${QUICK[@]}" "${WORKLOADS[@]}") > "$OUT/raftbus-$run.json" ||
    log "compare-nats: raftbus bench reported a failure in run $run (see $OUT/raftbus-$run.json)"
  run_nats default "$run" "${WORKLOADS[@]}"
  if [ ${#SYNC_ONLY[@]} -gt 0 ]; then run_nats always "$run" "${SYNC_ONLY[@]}"; fi
done

node "$ROOT/scripts/bench/compare-report.mjs" "$OUT"

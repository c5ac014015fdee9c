#!/usr/bin/env bash
# Propagation across instances and live-stream fan-out (examples/propagation_bench.rs), against
# release servers in separate processes.
#
#   across   two instances A and B on one PostgreSQL database (`bunting_bench`, created fresh
#            for each run); CHANGES changes through A, one at a time; time from A's write
#            response to B's evaluation serving the change and to B's change stream delivering
#            it. Run twice: as shipped (B listens for PostgreSQL's change announcements), and
#            poll-only (BUNTING_EVALCACHE_LISTEN=false, the 1 s refresh interval, as before).
#   fanout   STREAMS concurrent change streams on one instance (SQLite): server memory before
#            and after, and the time from a write's response to its event on every stream.
#
# Usage: bash bench/propagation.sh      (CHANGES=1000 STREAMS=1000 FANOUT_CHANGES=200 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
CHANGES=${CHANGES:-1000}
STREAMS=${STREAMS:-1000}
FANOUT_CHANGES=${FANOUT_CHANGES:-200}
ulimit -n 8192

cargo build --release -q -p bunting --bin bunting --example propagation_bench
bench=target/release/examples/propagation_bench
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

wait_for() { for _ in $(seq 1 100); do curl -sf -o /dev/null "$1/api/v1/health" && return 0; sleep 0.1; done; return 1; }
# serve PORT [VAR=value ...]: a release server in the background; its pid in $served.
serve() {
  local port=$1; shift
  env PORT="$port" RUST_LOG=warn "$@" target/release/bunting >"$work/$port.log" 2>&1 &
  served=$!; pids+=("$served")
  wait_for "http://127.0.0.1:$port"
}

if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
  postgres=(FLAGR_DB_DBDRIVER=postgres FLAGR_DB_DBCONNECTIONSTR=postgres://postgres@127.0.0.1:5432/bunting_bench)
  for listen in true false; do
    psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS bunting_bench" -c "CREATE DATABASE bunting_bench" >/dev/null
    serve 18990 "${postgres[@]}" BUNTING_EVALCACHE_LISTEN="$listen"; a=$served
    serve 18991 "${postgres[@]}" BUNTING_EVALCACHE_LISTEN="$listen"; b=$served
    echo "== across, PostgreSQL, BUNTING_EVALCACHE_LISTEN=$listen (refresh interval 1 s) =="
    "$bench" across http://127.0.0.1:18990 http://127.0.0.1:18991 --changes "$CHANGES"
    echo
    kill "$a" "$b"; wait "$a" "$b" 2>/dev/null || true
  done
else
  echo "== across: SKIPPED, no PostgreSQL on 127.0.0.1:5432 =="
fi

serve 18992 FLAGR_DB_DBCONNECTIONSTR="$work/fanout.sqlite"
echo "== fanout, one instance (SQLite) =="
"$bench" fanout http://127.0.0.1:18992 "$served" --streams "$STREAMS" --changes "$FANOUT_CHANGES"

#!/usr/bin/env bash
# Memory of listing flags: the resident set (VmRSS) of the release server on 10,000 benchmark
# flags (bench/fixture.py) just after a restart, and after one GET /api/v1/flags of each page
# below, each page in a freshly restarted server.
#
# Usage: bash bench/flaglist.sh [BINARY] [DATABASE]
#   BINARY defaults to target/release/bunting (build it first: cargo build --release -p bunting).
#   DATABASE is a SQLite file, loaded with the 10,000 flags when it does not exist yet and kept,
#   so two builds can be measured on the same database; a temporary one by default.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/bunting}
work=$(mktemp -d)
db=${2:-$work/flags.sqlite}
server=http://127.0.0.1:18992
base=$server/api/v1
pid=
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT

rss() { awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' "/proc/$pid/status"; }
start() {
  FLAGR_DB_DBCONNECTIONSTR="$db" PORT=18992 RUST_LOG=warn "$bin" >/dev/null &
  pid=$!
  for _ in $(seq 1 600); do curl -sf -o /dev/null "$base/health" && return 0; sleep 0.1; done
  return 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

if [ ! -e "$db" ]; then
  start
  python3 bench/fixture.py "$server" 10000 >/dev/null
  stop
fi
for page in "limit=1&offset=9999" "enabled=true&limit=1&offset=9999" "limit=20&offset=0" ""; do
  start
  sleep 2
  before=$(rss)
  bytes=$(curl -sf "$base/flags?$page" | wc -c)
  sleep 1
  echo "GET /api/v1/flags?$page ($bytes bytes): $before after the restart, $(rss) after the request"
  stop
done

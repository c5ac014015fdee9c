#!/usr/bin/env bash
# Evaluation over HTTP, side by side with the HTTP ceiling of this machine.
#
# Starts the release server on a fresh SQLite database, loads FLAGS benchmark flags
# (bench/fixture.py), then drives POST /api/v1/evaluation (a) at saturation with 64 connections
# (wrk) and (b) at a fixed 2,000 requests/s (hey), reporting requests/s, latency percentiles and
# peak RSS. The same two runs go against examples/fixed_response.rs, a minimal axum server that
# answers with a fixed 400-byte body: the most this stack can do here. Then against
# examples/json_ceiling.rs, the same server that also decodes each request as Bunting does and
# encodes an answer as large as Bunting's: what the HTTP and JSON work alone allow. Finally it
# measures the RSS of a server holding 10,000 flags.
#
# Usage: bash bench/eval.sh            (FLAGS=1000 DURATION=20 by default)
#        MEMORY=0 bash bench/eval.sh   skips the 10,000-flag memory part (a minute of loading)
#        BUNTING=/tmp/bunting-before bash bench/eval.sh   drives another build of the server
set -euo pipefail
cd "$(dirname "$0")/.."
FLAGS=${FLAGS:-1000}
DURATION=${DURATION:-20}
MEMORY=${MEMORY:-1}
BUNTING=${BUNTING:-target/release/bunting}
export FLAGS

for tool in wrk hey; do
  command -v "$tool" >/dev/null || { echo "installing $tool"; apt-get install -y -qq "$tool" >/dev/null; }
done
cargo build --release -q -p bunting --bin bunting --example fixed_response --example json_ceiling
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

wait_for() { for _ in $(seq 1 100); do curl -sf -o /dev/null -X "$2" "$1" -d '{}' && return 0; sleep 0.1; done; return 1; }
peak_rss() { awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' "/proc/$1/status"; }
# User + system CPU time of a process, in clock ticks. Its growth over a saturation run, divided
# by the requests served, is the server's CPU per request: steadier than requests/s when other
# work shares the machine.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
body='{"flagID":1,"entityID":"123","entityType":"report","entityContext":{"state":"CA","country":"US","device":"web","age":30,"email":"a@example.com"}}'

drive() { # name url pid
  echo "== $1: saturation, 64 connections, ${DURATION}s (wrk) =="
  local ticks out requests
  ticks=$(cpu_ticks "$3")
  out=$(wrk -t2 -c64 -d"${DURATION}s" --latency -s bench/eval.lua "$2")
  ticks=$(($(cpu_ticks "$3") - ticks))
  echo "$out" | grep -E "Requests/sec|Latency|  50%|  99%|Non-2xx|Socket"
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  awk -v ticks="$ticks" -v hz="$(getconf CLK_TCK)" -v n="$requests" \
    'BEGIN {printf "server CPU per request: %.1f us\n", ticks / hz * 1e6 / n}'
  echo "== $1: fixed 2000 requests/s, ${DURATION}s (hey) =="
  hey -z "${DURATION}s" -c 8 -q 250 -m POST -T application/json -d "$body" "$2" |
    grep -E "Requests/sec|Average|  50%|  90%|  99%|\[2|\[4|\[5"
  echo "peak RSS of $1: $(peak_rss "$3")"
}

FLAGR_DB_DBCONNECTIONSTR="$work/bench.sqlite" PORT=18990 RUST_LOG=warn "$BUNTING" >/dev/null &
pids+=($!); bunting=$!
wait_for http://127.0.0.1:18990/api/v1/health GET
python3 bench/fixture.py http://127.0.0.1:18990 "$FLAGS"
drive "bunting ($FLAGS flags)" http://127.0.0.1:18990/api/v1/evaluation "$bunting"

target/release/examples/fixed_response 18999 >/dev/null &
pids+=($!); ceiling=$!
wait_for http://127.0.0.1:18999/api/v1/evaluation POST
drive "fixed 400-byte response" http://127.0.0.1:18999/api/v1/evaluation "$ceiling"

target/release/examples/json_ceiling 18998 >/dev/null &
pids+=($!); json_ceiling=$!
wait_for http://127.0.0.1:18998/api/v1/evaluation POST
drive "JSON ceiling (decode the request, encode a result)" http://127.0.0.1:18998/api/v1/evaluation "$json_ceiling"

[ "$MEMORY" = 0 ] && exit 0
echo "== memory with 10,000 flags =="
FLAGR_DB_DBCONNECTIONSTR="$work/big.sqlite" PORT=18991 RUST_LOG=warn "$BUNTING" >/dev/null &
pids+=($!); big=$!
wait_for http://127.0.0.1:18991/api/v1/health GET
python3 bench/fixture.py http://127.0.0.1:18991 10000
FLAGS=10000 wrk -t2 -c64 -d10s -s bench/eval.lua http://127.0.0.1:18991/api/v1/evaluation | grep "Requests/sec"
echo "peak RSS while loading and serving 10,000 flags: $(peak_rss "$big")"
kill "$big"; wait "$big" 2>/dev/null || true
FLAGR_DB_DBCONNECTIONSTR="$work/big.sqlite" PORT=18991 RUST_LOG=warn "$BUNTING" >/dev/null &
pids+=($!); restarted=$!
wait_for http://127.0.0.1:18991/api/v1/health GET
FLAGS=10000 wrk -t2 -c64 -d10s -s bench/eval.lua http://127.0.0.1:18991/api/v1/evaluation | grep "Requests/sec"
echo "peak RSS after a restart on 10,000 flags, serving: $(peak_rss "$restarted")"

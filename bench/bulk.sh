#!/usr/bin/env bash
# Bulk evaluation: every flag for one entity in one request, through Flagr's batch route
# (`POST /api/v1/evaluation/batch` naming all flag ids) and OFREP's bulk route
# (`POST /ofrep/v1/evaluate/flags`), beside the HTTP ceiling of this machine
# (examples/fixed_response.rs answering a fixed 400-byte body).
#
# Starts the release server on a fresh SQLite database, loads FLAGS benchmark flags
# (bench/fixture.py), then sends REQUESTS requests one at a time (hey -c 1), so each latency is
# one request's time on loopback: the server's time plus the transfer of the answer, an upper
# bound for the server's time.
#
# Usage: bash bench/bulk.sh            (FLAGS=1000 REQUESTS=500 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
FLAGS=${FLAGS:-1000}
REQUESTS=${REQUESTS:-500}

command -v hey >/dev/null || { echo "installing hey"; apt-get install -y -qq hey >/dev/null; }
cargo build --release -q -p bunting --bin bunting --example fixed_response
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
wait_for() { for _ in $(seq 1 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }

FLAGR_DB_DBCONNECTIONSTR="$work/bench.sqlite" PORT=18991 RUST_LOG=warn target/release/bunting >/dev/null &
pids+=($!)
target/release/examples/fixed_response 18992 >/dev/null &
pids+=($!)
wait_for http://127.0.0.1:18991/api/v1/health
python3 bench/fixture.py http://127.0.0.1:18991 "$FLAGS" >/dev/null

ids=$(seq -s, 1 "$FLAGS")
batch="{\"entities\":[{\"entityID\":\"123\",\"entityType\":\"report\",\"entityContext\":{\"state\":\"CA\",\"country\":\"US\",\"device\":\"web\",\"age\":30,\"email\":\"a@example.com\"}}],\"flagIDs\":[$ids]}"
ofrep='{"context":{"targetingKey":"123","state":"CA","country":"US","device":"web","age":30,"email":"a@example.com"}}'
size() { curl -s -o /dev/null -w '%{size_download}' -X POST -H 'Content-Type: application/json' -d "$2" "$1"; }

run() { # name url body
  echo "== $1: $REQUESTS requests one at a time (answer: $(size "$2" "$3") bytes) =="
  hey -n "$REQUESTS" -c 1 -m POST -T application/json -d "$3" "$2" | grep -E "Requests/sec|Average|  50%|  90%|  99%|\[2|\[4|\[5"
}
run "batch, $FLAGS flags" http://127.0.0.1:18991/api/v1/evaluation/batch "$batch"
run "OFREP bulk, $FLAGS flags" http://127.0.0.1:18991/ofrep/v1/evaluate/flags "$ofrep"
run "fixed response (ceiling)" http://127.0.0.1:18992/api/v1/evaluation '{}'

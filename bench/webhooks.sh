#!/usr/bin/env bash
# Webhook delivery benchmarks (examples/webhook_bench.rs), on SQLite and, when a PostgreSQL
# server answers on 127.0.0.1:5432, on PostgreSQL: a database `bunting_bench` is created fresh
# for each run.
#
#   latency     1 producer at 100 changes/s, 1 webhook: change-to-receiver latency unsaturated
#   fan-out     4 producers as fast as they can, 10 webhooks: sustained deliveries/s
#   backlog     the same changes held back, then released at once: how fast a backlog drains
#
# Usage: bash bench/webhooks.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p bunting --example webhook_bench
bench=target/release/examples/webhook_bench

run() { echo "== $* =="; "$bench" "$@" | tail -n +2; echo; }
backends=("")
if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
  backends+=("postgres://postgres@127.0.0.1:5432/bunting_bench")
fi
for url in "${backends[@]}"; do
  for mode in "--webhooks 1 --producers 1 --rate 100" "--webhooks 10 --producers 4" "--backlog --webhooks 10 --producers 4"; do
    args=()
    if [ -n "$url" ]; then
      psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS bunting_bench" -c "CREATE DATABASE bunting_bench" >/dev/null
      args=(--postgres "$url")
    fi
    # --backlog must come first.
    read -r -a mode_args <<<"$mode"
    if [ "${mode_args[0]}" = "--backlog" ]; then
      run --backlog "${args[@]}" "${mode_args[@]:1}" --seconds 10
    else
      run "${args[@]}" "${mode_args[@]}" --seconds 10
    fi
  done
done

#!/usr/bin/env bash
# Webhook delivery benchmarks (examples/webhook_bench.rs), on SQLite and, when a PostgreSQL
# server answers on 127.0.0.1:5432, on PostgreSQL, and when a MariaDB/MySQL server answers on
# 127.0.0.1:3306 (user root, no password), on MariaDB: a database `bunting_bench` is created
# fresh for each run. A backend that does not answer is named as SKIPPED.
#
#   latency     1 producer at 100 changes/s, 1 webhook: change-to-receiver latency unsaturated
#   fan-out     4 producers as fast as they can, 10 webhooks: sustained deliveries/s
#   at 500/s    4 producers at 500 changes/s in all, 10 webhooks: change-to-receiver latency
#   backlog     the same changes held back, then released at once: how fast a backlog drains
#
# Beside them, in the same run, the reference (examples/outbox_ceiling.rs): a bare durable outbox
# on the same database, HTTP stack and signatures, with 4 producers writing events of 10
# deliveries each while it sends, then draining 50,000 prefilled deliveries (SQLite, PostgreSQL).
#
# Usage: bash bench/webhooks.sh [sqlite|postgres|mariadb ...]   (default: every backend)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p bunting --example webhook_bench --example outbox_ceiling
bench=target/release/examples/webhook_bench
reference=target/release/examples/outbox_ceiling

run() { echo "== $* =="; "$bench" "$@" | tail -n +2; echo; }
run_reference() { echo "== reference: $* =="; "$reference" "$@" | tail -n +2; echo; }
mariadb_client=$(command -v mariadb || command -v mysql || true)
postgres_up() { command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; }
mariadb_up() { [ -n "$mariadb_client" ] && "$mariadb_client" -h 127.0.0.1 -P 3306 -u root -e "SELECT 1" >/dev/null 2>&1; }

wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(sqlite postgres mariadb)
backends=()
for backend in "${wanted[@]}"; do
  case "$backend" in
    sqlite) backends+=(sqlite) ;;
    postgres) if postgres_up; then backends+=(postgres); else echo "== PostgreSQL: SKIPPED (nothing answers on 127.0.0.1:5432) =="; fi ;;
    mariadb) if mariadb_up; then backends+=(mariadb); else echo "== MariaDB: SKIPPED (nothing answers on 127.0.0.1:3306) =="; fi ;;
    *) echo "unknown backend $backend (sqlite, postgres or mariadb)" >&2; exit 2 ;;
  esac
done
for backend in "${backends[@]}"; do
  for mode in "--webhooks 1 --producers 1 --rate 100" "--webhooks 10 --producers 4" "--webhooks 10 --producers 4 --rate 500" "--backlog --webhooks 10 --producers 4"; do
    args=()
    case "$backend" in
      postgres)
        psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS bunting_bench" -c "CREATE DATABASE bunting_bench" >/dev/null
        args=(--postgres "postgres://postgres@127.0.0.1:5432/bunting_bench") ;;
      mariadb)
        "$mariadb_client" -h 127.0.0.1 -P 3306 -u root -e "DROP DATABASE IF EXISTS bunting_bench; CREATE DATABASE bunting_bench"
        args=(--mysql "root:@tcp(127.0.0.1:3306)/bunting_bench") ;;
    esac
    # --backlog must come first.
    read -r -a mode_args <<<"$mode"
    if [ "${mode_args[0]}" = "--backlog" ]; then
      run --backlog "${args[@]}" "${mode_args[@]:1}" --seconds 10
    else
      run "${args[@]}" "${mode_args[@]}" --seconds 10
    fi
  done
  # The reference, on the same database server (MariaDB has no UPDATE … RETURNING: not run).
  case "$backend" in
    sqlite) reference_args=() ;;
    postgres) reference_args=(--postgres "postgres://postgres@127.0.0.1:5432/bunting_bench") ;;
    mariadb) continue ;;
  esac
  run_reference "${reference_args[@]}" --producers 4 --fanout 10 --seconds 10
  run_reference "${reference_args[@]}" --producers 0 --prefill 5000
done

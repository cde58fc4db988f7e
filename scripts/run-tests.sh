#!/usr/bin/env bash
# Start throwaway PostgreSQL and Redis under a temp dir on free ports, run the suite against
# SQLite and then PostgreSQL (with Redis, an RQ worker and Chromium), and stop every server
# started here, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
TMP=$(mktemp -d /tmp/netwerkzorg-test.XXXXXX)
chmod 755 "$TMP"
PIDS=()
cleanup() {
  set +e
  [ -n "${PGDATA:-}" ] && [ -f "$PGDATA/postmaster.pid" ] && run_pg pg_ctl -D "$PGDATA" -m immediate stop >/dev/null 2>&1
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

free_port() { $BIN/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
run_pg() {  # PostgreSQL refuses to run as root: use the postgres account then.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- env PATH="$PGBIN:$PATH" "$@"; else PATH="$PGBIN:$PATH" "$@"; fi
}

echo "== lint (ruff)"
$BIN/ruff check app tests scripts config.py

echo "== starting PostgreSQL and Redis under $TMP"
PGDATA=$TMP/pg; mkdir -p "$PGDATA"; [ "$(id -u)" = 0 ] && chown postgres "$PGDATA"
PGPORT=$(free_port)
run_pg initdb -D "$PGDATA" -U postgres -A trust --no-sync -E UTF8 >/dev/null
run_pg pg_ctl -D "$PGDATA" -w -l "$PGDATA/log" \
  -o "-p $PGPORT -k $PGDATA -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
run_pg psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE DATABASE netwerkzorg_test" >/dev/null
# The application's own role (not the owner, no superuser): row-level security applies to it
# (tests/test_row_level_security.py serves the isolation walk through it).
run_pg psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE ROLE netwerkzorg_app LOGIN" >/dev/null

REDISPORT=$(free_port)
redis-server --port "$REDISPORT" --bind 127.0.0.1 --save "" --appendonly no --maxmemory-policy noeviction \
  --dir "$TMP" --daemonize no >"$TMP/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do redis-cli -p "$REDISPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

export TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$PGPORT/netwerkzorg_test"
export TEST_APP_PG_URL="postgresql+psycopg://netwerkzorg_app@127.0.0.1:$PGPORT/netwerkzorg_test"
export TEST_REDIS_URL="redis://127.0.0.1:$REDISPORT/0"
export TEST_TMP="$TMP"

# Two workers (pytest-xdist) by default, one per core of the CI machine: each has its own database and Redis
# database (tests/conftest.py). TEST_WORKERS=0 runs in one process.
WORKERS=(-n "${TEST_WORKERS:-2}" --dist worksteal)
[ "${TEST_WORKERS:-2}" = 0 ] && WORKERS=()

status=0
echo "== suite on SQLite (embedded default)"
TEST_DATABASE_URL="sqlite:///$TMP/test.db" $BIN/pytest -q "${WORKERS[@]}" \
  -m "not browser and not redis and not postgres_only" "$@" || status=$?
echo "== suite on PostgreSQL, with Redis, an RQ worker and Chromium"
TEST_DATABASE_URL="$TEST_PG_URL" $BIN/pytest -q "${WORKERS[@]}" "$@" || status=$?
exit $status

#!/usr/bin/env bash
# Issue 23's export of a heavy user: 100 goals, each with 10 years of daily check-ins
# (365,000 check-ins), seeded straight with SQL, beside a light user (one goal, ten
# check-ins). For each backend, exports the light user and then the heavy one, in one
# process, measuring with curl the time to the archive's first byte and to its end, and
# sampling the service's resident memory (VmRSS, every 20 ms) while each export runs: the
# growth is the highest sample less the memory just before that export, and (total) less
# the memory before the first export (which includes what the first export of the
# process sets up once: the JSON-LD contexts of the credentials, the allocator's arenas). Targets for the
# heavy user: growth < 20 MiB, first byte < 1 s. Not part of CI (a minute or two);
# BENCHMARKS.md holds its figures.
#
# Settings (environment): BENCH_BIN (default target/release/user-service, built when
# missing; target/debug/user-service measures the debug build); BENCH_BACKENDS ("sqlite
# postgres"); PGHOST, PGPORT, PGUSER (127.0.0.1, 5432, postgres); BENCH_PORT (18081).
set -euo pipefail

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$ROOT"
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
BIN=${BENCH_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/user-service}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
PORT=${BENCH_PORT:-18081}
S="http://127.0.0.1:$PORT"
SECRET=export-benchmark-secret-of-32-bytes!
PGDB=user_service_export_bench
WORK=$(mktemp -d)
PID=
SAMPLER=
BASE=
cleanup() {
  [[ -n $SAMPLER ]] && kill "$SAMPLER" 2>/dev/null
  [[ -n $PID ]] && kill "$PID" 2>/dev/null
  rm -rf "$WORK"
  true
}
trap cleanup EXIT

if [[ ! -x $BIN ]]; then cargo build --release --quiet; fi

start() {
  env RUST_LOG=warn LOG_FORMAT=text RATE_LIMIT_PER_MINUTE=0 JWT_SECRET="$SECRET" \
    DATA_DIR="$WORK/data" DATABASE_URL="$1" LISTEN_ADDR="127.0.0.1:$PORT" \
    "$BIN" >>"$WORK/service.log" 2>&1 &
  PID=$!
  until curl -sf -o /dev/null --max-time 1 "$S/readyz"; do
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/service.log"; exit 1; }
    sleep 0.05
  done
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$PID/status"; }

# User 1 with 100 goals and a check-in a day on each for the 3,650 days up to yesterday;
# user 2 with one goal and ten.
SEED_SQLITE="
INSERT INTO users (id, username, email) VALUES (1, 'heavy', 'heavy@example.com');
INSERT INTO users (id, username, email) VALUES (2, 'light', 'light@example.com');
INSERT INTO learning_goals (id, user_id, title, created_at, updated_at)
  VALUES (101, 2, 'A new habit', strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-11 days'),
          strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-11 days'));
INSERT INTO goal_checkins (goal_id, user_id, checkin_date, minutes, note, created_at)
  SELECT 101, 2, date('now', '-' || value || ' days'), 30, 'Practised',
         strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-' || value || ' days')
  FROM generate_series(1, 10);
INSERT INTO learning_goals (id, user_id, title, description, created_at, updated_at)
  SELECT value, 1, 'Goal ' || value, 'Ten years of practice, day after day',
         strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-3651 days'),
         strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-3651 days')
  FROM generate_series(1, 100);
INSERT INTO goal_checkins (goal_id, user_id, checkin_date, minutes, note, created_at)
  SELECT g.value, 1, date('now', '-' || d.value || ' days'), 30, 'Practised',
         strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-' || d.value || ' days')
  FROM generate_series(1, 100) g, generate_series(1, 3650) d;"
SEED_POSTGRES="
INSERT INTO users (id, username, email) VALUES (1, 'heavy', 'heavy@example.com');
INSERT INTO learning_goals (user_id, title, description, created_at, updated_at)
  SELECT 1, 'Goal ' || g, 'Ten years of practice, day after day',
         now() - interval '3651 days', now() - interval '3651 days'
  FROM generate_series(1, 100) g;
INSERT INTO goal_checkins (goal_id, user_id, checkin_date, minutes, note, created_at)
  SELECT g.id, 1, current_date - d, 30, 'Practised', now() - d * interval '1 day'
  FROM learning_goals g, generate_series(1, 3650) d;
INSERT INTO users (id, username, email) VALUES (2, 'light', 'light@example.com');
INSERT INTO learning_goals (user_id, title, created_at, updated_at)
  VALUES (2, 'A new habit', now() - interval '11 days', now() - interval '11 days');
INSERT INTO goal_checkins (goal_id, user_id, checkin_date, minutes, note, created_at)
  SELECT g.id, 2, current_date - d, 30, 'Practised', now() - d * interval '1 day'
  FROM learning_goals g, generate_series(1, 10) d WHERE g.user_id = 2;
ANALYZE;"

# Exports user $2 (named $3 in the report) from the running service.
export_user() {
  local backend=$1 user=$2 who=$3 token before timing peak rows first total size
  token=$(JWT_SECRET="$SECRET" DATA_DIR="$WORK/data" "$BIN" token --user "$user")
  curl -sf -o /dev/null -H "Authorization: Bearer $token" "$S/users/$user"
  before=$(rss_kib)
  : >"$WORK/rss"
  (while :; do rss_kib >>"$WORK/rss"; sleep 0.02; done) &
  SAMPLER=$!
  timing=$(curl -sf -o "$WORK/export.zip" -H "Authorization: Bearer $token" \
    -w '%{time_starttransfer} %{time_total} %{size_download}' "$S/users/$user/export")
  kill "$SAMPLER"; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=
  peak=$(sort -n "$WORK/rss" | tail -1)
  rows=$(python3 -c 'import json, sys, zipfile; print(len(json.load(zipfile.ZipFile(sys.argv[1]).open("checkins.json"))))' "$WORK/export.zip")
  read -r first total size <<<"$timing"
  printf '%-8s %-5s check-ins %6s  first byte %.3f s  total %5.2f s  archive %6.1f KiB  RSS before %.1f MiB, peak %.1f MiB, growth %.1f MiB (total %.1f MiB)\n' \
    "$backend" "$who" "$rows" "$first" "$total" "$(echo "$size / 1024" | bc -l)" \
    "$(echo "$before / 1024" | bc -l)" "$(echo "$peak / 1024" | bc -l)" "$(echo "($peak - $before) / 1024" | bc -l)" \
    "$(echo "($peak - $BASE) / 1024" | bc -l)"
}

measure() {
  start "$2"
  curl -sf -o /dev/null "$S/users/2"
  BASE=$(rss_kib)
  export_user "$1" 2 light
  export_user "$1" 1 heavy
  stop
}

for backend in $BACKENDS; do
  case $backend in
    sqlite)
      url="sqlite://$WORK/bench.db"
      env DATA_DIR="$WORK/data" DATABASE_URL="$url" JWT_SECRET="$SECRET" "$BIN" migrate >/dev/null 2>&1
      sqlite3 "$WORK/bench.db" "$SEED_SQLITE"
      measure sqlite "$url"
      ;;
    postgres)
      psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" -c "CREATE DATABASE $PGDB"
      url="postgres://$PGUSER@$PGHOST:$PGPORT/$PGDB"
      env DATA_DIR="$WORK/data" DATABASE_URL="$url" JWT_SECRET="$SECRET" "$BIN" migrate >/dev/null 2>&1
      psql -X -q -d "$PGDB" -c "$SEED_POSTGRES"
      measure postgres "$url"
      psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)"
      ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac
done

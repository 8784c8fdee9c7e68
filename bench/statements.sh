#!/usr/bin/env bash
# Statements per request, route by route, on both backends: each route is called once on a
# fresh database and the statements sqlx logged for it (target sqlx::query, at debug) are
# counted. BEGIN is not logged by sqlx; COMMIT is, and is counted. See BENCHMARKS.md.
#
#   bench/statements.sh [BINARY]   default: target/debug/user-service (cargo build first)
#
# Settings (environment): PGHOST, PGPORT, PGUSER (127.0.0.1, 5432, postgres); the database
# user_service_statements is dropped and recreated.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/debug/user-service}
[[ -x $BIN ]] || { echo "no binary at $BIN: cargo build first" >&2; exit 1; }
PGHOST=${PGHOST:-127.0.0.1}; PGPORT=${PGPORT:-5432}; PGUSER=${PGUSER:-postgres}
DB=user_service_statements
WORK=$(mktemp -d)
trap 'kill "${PID:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
logged() { grep -c 'sqlx::query' "$1" || true; }

# run BACKEND DATABASE_URL: one table row per route.
run() {
  local backend=$1 url=$2 dir="$WORK/$1" port log goal token
  mkdir -p "$dir"
  log="$dir/log"
  export DATABASE_URL=$url DATA_DIR=$dir JWT_SECRET=statements-secret-0123456789abcdef \
    RATE_LIMIT_PER_MINUTE=0 LOG_FORMAT=text
  "$BIN" migrate >/dev/null
  "$BIN" users create --id 7 --username ada >/dev/null
  token=$("$BIN" token --user 7)
  port=$(free_port)
  RUST_LOG=warn,sqlx::query=debug LISTEN_ADDR="127.0.0.1:$port" "$BIN" serve >"$log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  local S="http://127.0.0.1:$port" H=(-H "Authorization: Bearer $token" -H 'Content-Type: application/json')
  count() { # LABEL CURL_ARGS...: the statements logged from the request until the log is still
    local label=$1 before code now last; shift
    before=$(logged "$log")
    code=$(curl -s -o /dev/null -w '%{http_code}' "$@")
    now=$(logged "$log"); last=-1
    while [[ $now != "$last" ]]; do last=$now; sleep 0.2; now=$(logged "$log"); done
    printf '| %s | %s | %s | %s |\n' "$label" "$backend" "$code" $((now - before))
  }
  goal=$(curl -s "${H[@]}" -d '{"title":"Warm up"}' "$S/users/7/goals" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
  count "GET /users/{id}" "$S/users/7"
  count "GET /users/me" "${H[@]}" "$S/users/me"
  count "GET goals" "$S/users/7/goals"
  count "GET check-ins" "$S/users/7/goals/$goal/checkins"
  count "GET badges" "$S/users/7/badges"
  count "GET stats" "$S/users/7/stats"
  count "GET activity" "$S/users/7/activity"
  count "GET heatmap" "$S/users/7/heatmap"
  count "GET card.svg" "$S/users/7/card.svg"
  count "PUT profile" "${H[@]}" -X PUT -d '{"bio":"Learning Rust"}' "$S/users/7"
  count "POST goal" "${H[@]}" -d '{"title":"Learn Rust"}' "$S/users/7/goals"
  count "PUT goal" "${H[@]}" -X PUT -d '{"title":"Learn Rust well"}' "$S/users/7/goals/$goal"
  count "POST check-in" "${H[@]}" -d '{"minutes":25}' "$S/users/7/goals/$goal/checkins"
  count "POST check-in, the day again" "${H[@]}" -d '{"minutes":25}' "$S/users/7/goals/$goal/checkins"
  kill "$PID"; wait "$PID" 2>/dev/null || true
}

psql -q -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
echo "| route | backend | status | statements (COMMIT counted, BEGIN not) |"
echo "|---|---|---|---|"
run postgres "postgres://$PGUSER@$PGHOST:$PGPORT/$DB"
run sqlite "sqlite://$WORK/statements.db?mode=rwc"

#!/usr/bin/env bash
# Issue 11's large backlog: the broker away for hours, a million events waiting. Measures,
# on PostgreSQL, with the release binary:
#   1. POST goal with the outbox empty against a million pending rows (A B B A, the broker
#      unreachable, so the relay only retries and counts the backlog), and the service's
#      resident memory after each run;
#   2. the broker back (RabbitMQ, an exchange with no queue bound: confirmed, then dropped):
#      how long the relay takes to publish the million, the highest resident memory while
#      it does, and POST goal's rate meanwhile.
# Not part of CI (a few minutes); BENCHMARKS.md holds its figures.
#
# Settings (environment): CARGO_TARGET_DIR; PGHOST, PGPORT, PGUSER (127.0.0.1, 5432,
# postgres); BACKLOG_ROWS (1000000); BENCH_PORT (18080); BENCH_DURATION (10 s per run);
# BENCH_CONNECTIONS (64); BENCH_EVENTS_URL (amqp://guest:guest@127.0.0.1:5672/%2f).
set -euo pipefail

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$ROOT"
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
ROWS=${BACKLOG_ROWS:-1000000}
PORT=${BENCH_PORT:-18080}
DURATION=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNECTIONS:-64}
EVENTS_URL=${BENCH_EVENTS_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}
DB=user_service_backlog
URL="postgres://$PGUSER@$PGHOST:$PGPORT/$DB"
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/user-service
S="http://127.0.0.1:$PORT"
SECRET=backlog-benchmark-secret-of-32-bytes!
# An address where nothing listens: the broker "down for hours".
DOWN_URL=amqp://guest:guest@127.0.0.1:1/%2f

say() { printf '\n== %s\n' "$*"; }
command -v oha >/dev/null || cargo install oha --locked
cargo build --release --quiet

SVC=(env -u EVENTS_URL RUST_LOG=info LOG_FORMAT=text RATE_LIMIT_PER_MINUTE=0 SHUTDOWN_GRACE_SECS=0
  JWT_SECRET="$SECRET" DATABASE_URL="$URL" LISTEN_ADDR="127.0.0.1:$PORT" EVENTS_EXCHANGE=user-service-backlog.events)
LOG=$(mktemp -d)/service.log
PID=
trap '[[ -n $PID ]] && kill "$PID" 2>/dev/null; true' EXIT

start() {
  "${SVC[@]}" EVENTS_URL="$1" "$BIN" >>"$LOG" 2>&1 &
  PID=$!
  until curl -sf -o /dev/null --max-time 1 "$S/readyz"; do
    kill -0 "$PID" 2>/dev/null || { cat "$LOG"; exit 1; }
    sleep 0.05
  done
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$PID/status"; }
pending() { psql -X -At -d "$DB" -c "SELECT count(*) FROM event_outbox WHERE published_at IS NULL"; }
post_goals() {
  oha --no-tui --output-format json -z "${DURATION}s" -c "$CONNS" -m POST -T application/json \
    -H "Authorization: Bearer $TOKEN" -d '{"title": "Backlog"}' "$S/users/1/goals" |
    python3 -c 'import json, sys; s = json.load(sys.stdin)["summary"]; print(round(s["requestsPerSec"]), round(s["successRate"], 4))'
}
# A million pending rows as the service writes them: goal.created events of user 2, who
# takes no part in the measured writes.
fill() {
  psql -X -q -d "$DB" -c "TRUNCATE event_outbox" -c "
    INSERT INTO event_outbox (event_id, user_id, event_type, data, occurred_at)
    SELECT gen_random_uuid()::text, 2, 'goal.created.v1',
           json_build_object('user_id', 2, 'goal_id', g, 'title', 'Goal ' || g,
                             'status', 'in-progress')::text,
           now() - interval '3 hours' + make_interval(secs => g / 100.0)
    FROM generate_series(1, $ROWS) AS g" -c "VACUUM ANALYZE event_outbox"
}

say "Database $DB"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
"${SVC[@]}" "$BIN" migrate >>"$LOG" 2>&1
"${SVC[@]}" "$BIN" users create --id 1 --username writer >/dev/null
"${SVC[@]}" "$BIN" users create --id 2 --username backlog >/dev/null
TOKEN=$("${SVC[@]}" "$BIN" token --user 1 --ttl 86400)

say "POST goal, the broker unreachable: outbox empty (A) against $ROWS pending (B), A B B A"
for run in A B B A; do
  if [[ $run == A ]]; then psql -X -q -d "$DB" -c "TRUNCATE event_outbox"; else fill; fi
  start "$DOWN_URL"
  read -r rate ok <<<"$(post_goals)"
  echo "$run: $(pending) pending at the end, POST goal $rate req/s (success $ok), RSS $(rss_kib) KiB"
  stop
done

say "The broker back: $ROWS pending go out"
fill
start "$EVENTS_URL"
t0=$(date +%s%N)
RSS_LOG=$(dirname "$LOG")/rss.txt
(while kill -0 "$PID" 2>/dev/null; do rss_kib; sleep 0.2; done) >"$RSS_LOG" 2>/dev/null &
read -r rate ok <<<"$(post_goals)"
echo "POST goal while the relay drains: $rate req/s (success $ok), $(pending) still pending after it"
until (($(pending) == 0)); do sleep 0.5; done
echo "all published after $((($(date +%s%N) - t0) / 1000000)) ms; highest RSS $(sort -n "$RSS_LOG" | tail -1) KiB"
grep -E "events: (cannot publish|publishing|waiting)" "$LOG" | tail -5 | cut -c1-200
stop
psql -X -q -d postgres -c "DROP DATABASE $DB"

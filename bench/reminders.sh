#!/usr/bin/env bash
# Issue 22's reminders at scale: 1,000,000 daily goals (100,000 users with 10 each) across
# 20 time zones, every goal with a live streak and no check-in today. Measures, on
# PostgreSQL, with the release binary and the broker up (RabbitMQ, an exchange with no queue
# bound: confirmed, then dropped):
#   1. what a pass with nothing due costs: the service's CPU with a pass every second against
#      none at all, per pass; and the plan of the pass's one read (the due index, no goal);
#   2. the API's p99 (GET a user's goals at a fixed rate) idle, and while the pass at one
#      zone's reminder time writes that zone's 50,000 reminders (and the relay publishes
#      them): the target is within 20 % of idle.
# REMINDER_LOCAL_TIME is set to a minute or two ahead in UTC, so that UTC's users come due
# during the run and the 19 other zones (other offsets) do not.
# `--quick`: 2,000 users (20,000 goals), short runs: for CI, so the script never rots.
# Not part of `cargo test`; BENCHMARKS.md holds its figures.
#
# Settings (environment): CARGO_TARGET_DIR; PGHOST, PGPORT, PGUSER (127.0.0.1, 5432,
# postgres); REMINDER_USERS (100000); BENCH_PORT (18081); BENCH_DURATION (15 s per run);
# BENCH_RATE (300 requests/s); BENCH_EVENTS_URL (amqp://guest:guest@127.0.0.1:5672/%2f).
set -euo pipefail

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$ROOT"
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
USERS=${REMINDER_USERS:-100000}
DURATION=${BENCH_DURATION:-15}
IDLE_SECS=30
if [[ ${1:-} == --quick ]]; then
  USERS=2000 DURATION=3 IDLE_SECS=3
fi
PORT=${BENCH_PORT:-18081}
RATE=${BENCH_RATE:-300}
EVENTS_URL=${BENCH_EVENTS_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}
DB=user_service_reminders
URL="postgres://$PGUSER@$PGHOST:$PGPORT/$DB"
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/user-service
S="http://127.0.0.1:$PORT"
SECRET=reminders-benchmark-secret-of-32-bytes
PROBE=$((USERS + 1))
ZONES="'UTC','Europe/Paris','Europe/Athens','Europe/Moscow','Asia/Dubai','Asia/Karachi',\
'Asia/Kolkata','Asia/Dhaka','Asia/Bangkok','Asia/Shanghai','Asia/Tokyo','Australia/Brisbane',\
'Pacific/Noumea','Pacific/Auckland','America/Sao_Paulo','America/New_York','America/Chicago',\
'America/Denver','America/Los_Angeles','Pacific/Honolulu'"

say() { printf '\n== %s\n' "$*"; }
command -v oha >/dev/null || cargo install oha --locked
cargo build --release --quiet

SVC=(env RUST_LOG=info LOG_FORMAT=text RATE_LIMIT_PER_MINUTE=0 SHUTDOWN_GRACE_SECS=0
  JWT_SECRET="$SECRET" DATABASE_URL="$URL" LISTEN_ADDR="127.0.0.1:$PORT"
  EVENTS_URL="$EVENTS_URL" EVENTS_EXCHANGE=user-service-reminders.events)
LOG=$(mktemp -d)/service.log
PID=
trap '[[ -n $PID ]] && kill "$PID" 2>/dev/null; true' EXIT

psql_() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
start() { # REMINDER_PASS_SECS
  "${SVC[@]}" REMINDER_LOCAL_TIME="$AT" REMINDER_PASS_SECS="$1" "$BIN" >>"$LOG" 2>&1 &
  PID=$!
  until curl -sf -o /dev/null --max-time 1 "$S/readyz"; do
    kill -0 "$PID" 2>/dev/null || { cat "$LOG"; exit 1; }
    sleep 0.05
  done
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
ticks_per_sec=$(getconf CLK_TCK)
# The API at a fixed rate: p50 and p99 in ms, and the success rate.
probe() {
  oha --no-tui --output-format json -z "${1}s" -c 16 -q "$RATE" "$S/users/$PROBE/goals?limit=20" |
    python3 -c 'import json, sys; r = json.load(sys.stdin); p = r["latencyPercentiles"]; s = r["summary"]
print(round(p["p50"] * 1000, 2), round(p["p99"] * 1000, 2), round(s["successRate"], 4))'
}

say "Database $DB: $USERS users, $((USERS * 10)) goals, 20 time zones"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
"${SVC[@]}" "$BIN" migrate >>"$LOG" 2>&1
t0=$(date +%s)
psql_ <<SQL
INSERT INTO users (id, username, email, hashed_password, timezone)
SELECT g, 'user' || g, 'user' || g || '@example.com', 'x', (ARRAY[$ZONES])[1 + (g - 1) % 20]
FROM generate_series(1, $PROBE) AS g;
-- Ten daily goals each, a five-day streak up to yesterday (the user's), none checked in today.
INSERT INTO learning_goals (user_id, title, status, created_at, updated_at, last_checkin_date,
  streak_run, longest_streak, checkin_count, cadence)
SELECT u.id, 'Goal ' || n, 'in-progress', now(), now(),
  CAST((now() AT TIME ZONE u.timezone) AS DATE) - 1, 5, 5, 5, 'daily'
FROM users u CROSS JOIN generate_series(1, 10) AS n WHERE u.id < $PROBE;
INSERT INTO learning_goals (user_id, title, status, created_at, updated_at, cadence)
SELECT $PROBE, 'Probe ' || n, 'in-progress', now(), now(), 'daily' FROM generate_series(1, 20) AS n;
SQL
# The reminder time: the first whole minute after the idle measurements, in UTC.
AT=$(date -u -d "@$(( ($(date +%s) + 2 * IDLE_SECS + DURATION + 30 + 59) / 60 * 60 ))" +%H:%M)
DUE_EPOCH=$(date -u -d "today $AT" +%s)
((DUE_EPOCH > $(date +%s))) || DUE_EPOCH=$((DUE_EPOCH + 86400))
psql_ <<SQL
-- Each user's schedule as a pass leaves it: the next local day whose $AT is still to come.
INSERT INTO reminder_users (user_id, enabled, next_date, next_at)
SELECT u.id, TRUE, d.day, CAST(extract(epoch FROM (d.day + TIME '$AT') AT TIME ZONE u.timezone) AS BIGINT)
FROM users u
CROSS JOIN LATERAL (SELECT CASE WHEN (CAST((now() AT TIME ZONE u.timezone) AS DATE) + TIME '$AT')
    AT TIME ZONE u.timezone > now() THEN CAST((now() AT TIME ZONE u.timezone) AS DATE)
  ELSE CAST((now() AT TIME ZONE u.timezone) AS DATE) + 1 END AS day) AS d;
VACUUM ANALYZE users; VACUUM ANALYZE learning_goals; VACUUM ANALYZE reminder_users;
SQL
echo "seeded in $(($(date +%s) - t0)) s; REMINDER_LOCAL_TIME=$AT (UTC's users due at $(date -u -d "@$DUE_EPOCH" +%T))"
echo "schedules due then: $(psql_ -c "SELECT count(*) FROM reminder_users WHERE next_at <= $DUE_EPOCH + 60 AND user_id < $PROBE")" \
  "users, $(psql_ -c "SELECT count(*) FROM learning_goals g JOIN reminder_users r USING (user_id) WHERE r.next_at <= $DUE_EPOCH + 60 AND g.user_id < $PROBE")" goals

say "A pass with nothing due: its one read"
psql_ -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF)
  SELECT CAST(r.user_id AS BIGINT) AS user_id, r.next_date, r.next_at, u.timezone, u.week_start
  FROM reminder_users r JOIN users u ON u.id = r.user_id
  WHERE r.next_at IS NOT NULL AND r.next_at <= $(date +%s) ORDER BY r.next_at LIMIT 200"

say "CPU with nothing due: no passes (A) against a pass every second (B), ${IDLE_SECS} s each"
for passes in 0 1; do
  start "$passes"
  sleep 1
  before=$(cpu_ticks)
  sleep "$IDLE_SECS"
  used=$(($(cpu_ticks) - before))
  echo "REMINDER_PASS_SECS=$passes: $((used * 1000 / ticks_per_sec)) ms of CPU in ${IDLE_SECS} s"
  eval "cpu_$passes=$used"
  [[ $passes == 1 ]] || stop
done
echo "per pass with nothing due: $(python3 -c "print(round(($cpu_1 - $cpu_0) * 1000 / $ticks_per_sec / $IDLE_SECS, 2))") ms of service CPU"

say "The API idle (GET a user's goals, $RATE/s): p50 p99 ms, success"
probe 2 >/dev/null # warm-up: connections opened, caches filled
read -r idle50 idle99 ok <<<"$(probe "$DURATION")"
echo "idle: p50 $idle50 p99 $idle99 ($ok)"

wait_for=$((DUE_EPOCH - $(date +%s) - 1))
if ((wait_for > 0)); then
  echo "waiting ${wait_for} s for $AT UTC"
  sleep "$wait_for"
fi
say "The pass at $AT UTC: $(psql_ -c "SELECT count(*) FROM learning_goals g JOIN users u ON u.id = g.user_id WHERE u.timezone = 'UTC' AND g.user_id < $PROBE") reminders due"
before=$(cpu_ticks)
read -r busy50 busy99 ok <<<"$(probe "$DURATION")"
echo "during the pass: p50 $busy50 p99 $busy99 ($ok); p99 $(python3 -c "print(round(($busy99 / $idle99 - 1) * 100))") % from idle"
until grep -q "reminders: pass done" "$LOG"; do sleep 0.5; done
grep "reminders: pass done" "$LOG" | tail -1 | sed 's/.*reminders: pass done/pass:/'
echo "service CPU while measured: $(( ($(cpu_ticks) - before) * 1000 / ticks_per_sec )) ms"
echo "reminders sent: $(psql_ -c "SELECT count(*) FROM reminders_sent"), in the outbox: $(psql_ -c "SELECT count(*) FROM event_outbox WHERE event_type = 'streak.at_risk.v1'")"
until (($(psql_ -c "SELECT count(*) FROM event_outbox WHERE published_at IS NULL") == 0)); do sleep 0.5; done
echo "all published by $(date -u +%T)"
stop
psql -X -q -d postgres -c "DROP DATABASE $DB"

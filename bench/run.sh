#!/usr/bin/env bash
# The benchmark of issue 5: user-service against the reference program (bench/limit) in one
# run on this machine, on PostgreSQL and on SQLite. See BENCHMARKS.md for what it measures
# and how to read the table.
#
#   bench/run.sh            the full benchmark (about 15 minutes after the build)
#   bench/run.sh --quick    a second or two per scenario and a small seed, for CI
#
# It builds the release binary (honouring CARGO_TARGET_DIR) and the reference, seeds
# PostgreSQL (database user_service_bench, dropped and recreated) and an SQLite file in a
# temporary folder through the service's own tables, starts each server alone, warms it
# up, runs each scenario with oha (installed with `cargo install oha --locked` when
# missing) and prints one table. Results and server logs land in bench/results/<date>/.
#
# Exit status: 0 when everything ran, even if a performance target is missed; 1 when a
# build, the seed, a server start, a probe of the seeded data or a scenario failed (a
# scenario fails when any request errs or answers other than 2xx).
#
# Settings (environment): CARGO_TARGET_DIR; LIMIT_DIR (default <repo>/../shared/bench/limit);
# PGHOST, PGPORT, PGUSER (127.0.0.1, 5432, postgres); REDIS_URL (redis://127.0.0.1:6379);
# BENCH_PORT, BENCH_LIMIT_PORT (18080, 18200); BENCH_DURATION, BENCH_WARMUP (seconds);
# BENCH_CONNECTIONS (64); DB_MAX_CONNECTIONS (16, also the reference's POOL); BENCH_USERS
# (10000; ids BENCH_USERS..2·BENCH_USERS-1); BENCH_CHECKIN_GOALS (10000); BENCH_KEEP=1 keeps
# the SQLite folder; BENCH_EVENTS_URL (amqp://guest:guest@127.0.0.1:5672/%2f), the RabbitMQ
# the events scenarios publish to, on the exchange user-service-bench.events (without it they
# are skipped, or fail with CI=true); EVENTS_BATCH_SIZE and EVENTS_POLL_MS reach the service
# in those scenarios.
set -euo pipefail

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

QUICK=0
for arg in "$@"; do
  case $arg in
    --quick) QUICK=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; usage >&2; exit 2 ;;
  esac
done

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$ROOT"
BENCH="$ROOT/bench"

say() { printf '\n== %s\n' "$*"; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------
# Settings

if [[ $QUICK == 1 ]]; then
  DURATION=${BENCH_DURATION:-2}; WARMUP=${BENCH_WARMUP:-1}
  N=${BENCH_USERS:-1000}; K=${BENCH_CHECKIN_GOALS:-1000}
else
  DURATION=${BENCH_DURATION:-10}; WARMUP=${BENCH_WARMUP:-3}
  N=${BENCH_USERS:-10000}; K=${BENCH_CHECKIN_GOALS:-10000}
fi
HIST_DAYS=365      # "a year of daily check-ins"
# The home feed's followed users (each reader follows FEED_FOLLOWED of them), with an event a
# day for a year, for five years, or for a year that ended a year ago.
if [[ $QUICK == 1 ]]; then
  FEED_FOLLOWED=1000; FEED_DAYS=30; FEED_LONG_DAYS=150
else
  FEED_FOLLOWED=1000; FEED_DAYS=365; FEED_LONG_DAYS=1826
fi
LONG_DAYS=1000     # check-ins per goal of the cost-growth user
HEAT_LONG_DAYS=1826  # five years of daily check-ins (the heatmap's long history)
HEAT_DAYS=371      # a year: the heatmap's 53 weeks, full
MANY=10000         # goals of the user with many goals
CI_BASE=10000000   # goal ids of the check-in users: CI_BASE.., CI_NEW_BASE..
CI_NEW_BASE=20000000
CF_BASE=60000000   # goal ids of the user with 100,000 followers, as the new check-in user's
EV_OFF_BASE=30000000  # goal ids of the events check-in users, off and on
EV_ON_BASE=40000000
HEAT_BASE=50000000 # goal ids of the heatmap users: HEAT_BASE + 1, 2 and + 11, 12
CONNS=${BENCH_CONNECTIONS:-64}
MIX_WRITE_CONNS=8
MIX_READ_CONNS=$((CONNS - MIX_WRITE_CONNS))
POOL=${DB_MAX_CONNECTIONS:-16}
SVC_PORT=${BENCH_PORT:-18080}
LIMIT_PORT=${BENCH_LIMIT_PORT:-18200}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
PGHOST=${PGHOST:-127.0.0.1}; PGPORT=${PGPORT:-5432}; PGUSER=${PGUSER:-postgres}
export PGHOST PGPORT PGUSER
BENCH_DB=user_service_bench
LIMIT_DB=limit_bench
PG_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$BENCH_DB"
LIMIT_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$LIMIT_DB"
JWT_SECRET=bench-secret-not-for-production-0123456789abcdef
EV_URL=${BENCH_EVENTS_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}
# An exchange of the benchmark's own, with no queue bound: RabbitMQ confirms each event and
# drops it, so that runs leave nothing behind and consumers elsewhere see none of them.
EV_EXCHANGE=user-service-bench.events

# Special users (see bench/seed-postgres.sql).
U_HIST=900001; U_NONE=900002; U_MANY=900003; U_WRITE=900005; U_CI=900006; U_CI_NEW=900007
U_EV_OFF=900008; U_EV_ON=900009
U_HEAT5=900010; U_HEAT1=900011
U_FAMOUS=900012; U_FEW=900013   # 100,000 followers, and 10
U_READER=900014                  # follows 1,000 users with a year of activity (the home feed)
U_READER5=900015; U_READER_IDLE=900016   # … with five years; … inactive for a year
U_ME=$((N + 2))

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
[[ $TARGET == /* ]] || TARGET="$ROOT/$TARGET"
BIN="$TARGET/release/user-service"
LIMIT_DIR=${LIMIT_DIR:-$ROOT/../shared/bench/limit}
LIMIT_TARGET=${LIMIT_TARGET_DIR:-$TARGET/bench-limit}
LIMIT_BIN="$LIMIT_TARGET/release/limit"

RUN="$BENCH/results/$(date -u +%Y%m%dT%H%M%SZ)$([[ $QUICK == 1 ]] && echo -quick || true)"
mkdir -p "$RUN"
META="$RUN/meta.txt"
meta() { printf '%s=%s\n' "$1" "$2" >>"$META"; }

# ---------------------------------------------------------------------------------------
# Processes we start, stopped on any exit

PIDS=()
SQLITE_DIR=
cleanup() {
  local pid i
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
  if [[ -n $SQLITE_DIR && ${BENCH_KEEP:-0} != 1 ]]; then rm -rf "$SQLITE_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget_pid() {
  local keep=() pid
  for pid in "${PIDS[@]}"; do [[ $pid == "$1" ]] || keep+=("$pid"); done
  PIDS=("${keep[@]}")
}

stop_server() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}

port_free() { ! curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/"; }

# wait_ready URL PID SECONDS: until URL answers 2xx; fails if PID dies or time runs out.
wait_ready() {
  local url=$1 pid=$2 deadline=$(($(date +%s) + $3))
  until curl -sf -o /dev/null --max-time 1 "$url"; do
    kill -0 "$pid" 2>/dev/null || return 1
    (($(date +%s) < deadline)) || return 1
    sleep 0.01
  done
}

now_ns() { date +%s%N; }

# The service's environment: nothing inherited that changes how it verifies tokens, or
# makes it publish events.
SVC_ENV=(
  env -u EVENTS_URL -u JWT_PUBLIC_KEY -u JWT_JWKS_URL -u JWT_ALGORITHMS -u JWT_ISSUER -u JWT_AUDIENCE
  -u JWT_USER_CLAIM -u REQUEST_TIMEOUT_SECS -u DB_ACQUIRE_TIMEOUT_SECS
  -u METRICS_ENABLED -u METRICS_ADDR -u RATE_LIMIT_REDIS_URL -u RATE_LIMIT_REDIS_FAILURE
  RUST_LOG=warn RATE_LIMIT_PER_MINUTE=0 SHUTDOWN_GRACE_SECS=0 JWT_SECRET="$JWT_SECRET" LOG_FORMAT=text
  LISTEN_ADDR="127.0.0.1:$SVC_PORT" DB_MAX_CONNECTIONS="$POOL"
)

# ---------------------------------------------------------------------------------------
# CPU accounting: ticks of the server, of every PostgreSQL process and of the machine

CLK_TCK=$(getconf CLK_TCK)
SERVER_PID=
proc_ticks() { # PID...: utime + stime, summed
  local files=() p
  for p in "$@"; do files+=("/proc/$p/stat"); done
  ((${#files[@]})) || { echo 0; return; }
  # A process may exit between pgrep and the read (a PostgreSQL backend, autovacuum): its
  # file is gone, which under pipefail must not end the run.
  { cat "${files[@]}" 2>/dev/null || true; } | awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}
# shellcheck disable=SC2046
pg_ticks() {
  proc_ticks $(pgrep -x postgres 2>/dev/null || true)
}
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

snap_begin() { S_T0=$(now_ns); S_SRV=$(proc_ticks "$SERVER_PID"); S_PG=$(pg_ticks); S_BUSY=$(busy_ticks); }
snap_end() { # META_FILE
  local t1 srv pg busy
  t1=$(now_ns); srv=$(proc_ticks "$SERVER_PID"); pg=$(pg_ticks); busy=$(busy_ticks)
  awk -v w="$((t1 - S_T0))" -v s="$((srv - S_SRV))" -v p="$((pg - S_PG))" -v b="$((busy - S_BUSY))" -v hz="$CLK_TCK" \
    'BEGIN { printf "{\"wall_s\": %.3f, \"server_cpu_s\": %.2f, \"pg_cpu_s\": %.2f, \"busy_cpu_s\": %.2f}\n", w / 1e9, s / hz, p / hz, b / hz }' >"$1"
}

# ---------------------------------------------------------------------------------------
# Load

OHA=
FAILED=0
oha_run() { # OUT DURATION CONNECTIONS ARGS...
  local out=$1 dur=$2 conns=$3
  shift 3
  if ! "$OHA" --no-tui --output-format json -w -t 30s -z "${dur}s" -c "$conns" "$@" >"$out" 2>>"$RUN/oha.log"; then
    echo "  oha failed ($out); see $RUN/oha.log" >&2
    FAILED=1
    return 1
  fi
}

# measure NAME WARM ARGS...: a warm-up (WARM=1) then the measured run.
measure() {
  local name=$1 warm=$2
  shift 2
  if [[ $warm == 1 ]]; then oha_run /dev/null "$WARMUP" "$CONNS" "$@" || true; fi
  snap_begin
  oha_run "$RUN/$name.json" "$DURATION" "$CONNS" "$@" || true
  snap_end "$RUN/$name.meta.json"
  python3 "$BENCH/report.py" line "$RUN" "$name"
}

# measure_mix NAME READ_URL_REGEX WRITE_URL TOKEN_OR_EMPTY WRITE_QPS: reads at full speed on
# MIX_READ_CONNS connections beside writes paced to WRITE_QPS on MIX_WRITE_CONNS.
measure_mix() {
  local name=$1 reads=$2 write_url=$3 token=$4 qps=$5 auth=() p1 p2
  [[ -n $token ]] && auth=(-H "Authorization: Bearer $token")
  snap_begin
  oha_run "$RUN/$name-reads.json" "$DURATION" "$MIX_READ_CONNS" --rand-regex-url "$reads" &
  p1=$!
  PIDS+=("$p1")
  oha_run "$RUN/$name-writes.json" "$DURATION" "$MIX_WRITE_CONNS" -q "$qps" -m POST \
    -T application/json "${auth[@]}" -d "$GOAL_BODY" "$write_url" &
  p2=$!
  PIDS+=("$p2")
  wait "$p1" || FAILED=1
  wait "$p2" || FAILED=1
  forget_pid "$p1"; forget_pid "$p2"
  snap_end "$RUN/$name.meta.json"
  python3 "$BENCH/report.py" line "$RUN" "$name"
}

rx() { python3 "$BENCH/report.py" range-regex "$1" "$2"; }
GOAL_BODY='{"title": "Benchmark goal", "description": "Written by bench/run.sh, one of many."}'
# Check-ins: today or yesterday (UTC, the check-in users' zone), drawn at random per request.
# Profile edits that each change something: one of four bios, drawn at random per request.
profile_bodies() {
  for i in 1 2 3 4; do printf '{"bio": "Learning Rust in public, week %s"}\n' "$i"; done >"$RUN/profile-bodies.txt"
}

checkin_bodies() {
  printf '{"minutes": 25}\n{"date": "%s", "minutes": 25}\n' "$(date -u -d yesterday +%F)" >"$RUN/checkin-bodies.txt"
}

# ---------------------------------------------------------------------------------------
say "Tools"

for tool in psql pg_isready sqlite3 curl python3 awk pgrep redis-cli; do
  command -v "$tool" >/dev/null || die "$tool is needed"
done
pg_isready -q -h "$PGHOST" -p "$PGPORT" || die "no PostgreSQL answers at $PGHOST:$PGPORT"
[[ $(redis-cli -u "$REDIS_URL" ping 2>/dev/null) == PONG ]] || die "no Redis answers at $REDIS_URL (REDIS_URL; the shared rate limit's scenario)"
if command -v oha >/dev/null; then
  OHA=$(command -v oha)
elif [[ -x $HOME/.cargo/bin/oha ]]; then
  OHA=$HOME/.cargo/bin/oha
else
  echo "oha is missing: cargo install oha --locked (a few minutes, once)"
  cargo install oha --locked
  OHA=$HOME/.cargo/bin/oha
fi
USERS_RX=$(rx "$N" $((2 * N - 1))) || die "BENCH_USERS=$N: use 1, 2, … 9 times a power of ten"
CI_RX=$(rx "$CI_BASE" $((CI_BASE + K - 1))) || die "BENCH_CHECKIN_GOALS=$K: use 1, 2, … 9 times a power of ten"
CI_NEW_RX=$(rx "$CI_NEW_BASE" $((CI_NEW_BASE + K - 1)))
CF_RX=$(rx "$CF_BASE" $((CF_BASE + K - 1)))
EV_OFF_RX=$(rx "$EV_OFF_BASE" $((EV_OFF_BASE + K - 1)))
EV_ON_RX=$(rx "$EV_ON_BASE" $((EV_ON_BASE + K - 1)))
echo "oha: $OHA ($("$OHA" --version))"
EVENTS=1
events_at=$(sed -E 's#^[a-z]+://([^@/]*@)?([^/?]+).*#\2#' <<<"$EV_URL")
[[ $events_at == *:* ]] || events_at="$events_at:5672"
if ! (exec 3<>"/dev/tcp/${events_at%:*}/${events_at##*:}") 2>/dev/null; then
  [[ ${CI:-} == true ]] && die "CI=true and no RabbitMQ answers at $events_at (BENCH_EVENTS_URL)"
  echo "warning: no RabbitMQ answers at $events_at (BENCH_EVENTS_URL): the events scenarios are skipped"
  EVENTS=0
fi

# ---------------------------------------------------------------------------------------
say "Build"

cargo build --release
[[ -x $BIN ]] || die "no binary at $BIN"
LIMIT=0
if [[ -f $LIMIT_DIR/Cargo.toml ]]; then
  CARGO_TARGET_DIR="$LIMIT_TARGET" cargo build --release --locked --manifest-path "$LIMIT_DIR/Cargo.toml"
  [[ -x $LIMIT_BIN ]] || die "no reference binary at $LIMIT_BIN"
  LIMIT=1
else
  echo "The reference is missing ($LIMIT_DIR has no Cargo.toml): absolute figures only, no ratios."
fi

port_free "$SVC_PORT" || die "port $SVC_PORT is in use (set BENCH_PORT)"
port_free "$LIMIT_PORT" || die "port $LIMIT_PORT is in use (set BENCH_LIMIT_PORT)"

# ---------------------------------------------------------------------------------------
# What this run is

meta date "$(date)"
meta quick "$QUICK"
meta limit "$LIMIT"
meta limit_dir "$LIMIT_DIR"
meta commit "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src migrations Cargo.toml Cargo.lock || echo +dirty)"
meta cpus "$(nproc)"
meta cpu_model "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
meta mem "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
meta oha "$("$OHA" --version | awk '{ print $2 }')"
meta pg_version "$(psql -X -At -d postgres -c 'SHOW server_version' | awk '{ print $1 }')"
meta sqlite_version "$(sqlite3 --version | awk '{ print $1 }')"
meta connections "$CONNS"
meta duration "${DURATION}s"
meta warmup "${WARMUP}s"
meta pool "$POOL"
meta users "$N"
meta events "$EVENTS"
meta events_settings "batch ${EVENTS_BATCH_SIZE:-200 (default)}, poll ${EVENTS_POLL_MS:-100 (default)} ms"
meta load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
# What else keeps the CPUs busy right now (the load average lags by minutes).
b0=$(busy_ticks); sleep 2; b1=$(busy_ticks)
busy_pct=$(((b1 - b0) * 100 / (2 * CLK_TCK * $(nproc))))
meta busy_before "${busy_pct}%"
if ((busy_pct > 20)); then
  echo "warning: the CPUs are ${busy_pct}% busy before the run: something else is running, figures will be noisy"
fi

# ---------------------------------------------------------------------------------------
say "Seed PostgreSQL ($BENCH_DB): $N users, 20 goals each, check-in histories, badges"

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "SET client_min_messages = warning" \
  -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB" >/dev/null
"${SVC_ENV[@]}" DATABASE_URL="$PG_URL" "$BIN" migrate >"$RUN/migrate-pg.log" 2>&1 ||
  { cat "$RUN/migrate-pg.log"; die "migrate failed on PostgreSQL"; }
t0=$(now_ns)
psql -X -q -d "$BENCH_DB" -v n="$N" -v hist_days="$HIST_DAYS" -v long_days="$LONG_DAYS" \
  -v many="$MANY" -v k="$K" -v ci_base="$CI_BASE" -v ci_new_base="$CI_NEW_BASE" -v cf_base="$CF_BASE" \
  -v ev_off_base="$EV_OFF_BASE" -v ev_on_base="$EV_ON_BASE" \
  -v heat_base="$HEAT_BASE" -v heat_long_days="$HEAT_LONG_DAYS" -v heat_days="$HEAT_DAYS" \
  -v feed_followed="$FEED_FOLLOWED" -v feed_days="$FEED_DAYS" -v feed_long_days="$FEED_LONG_DAYS" \
  -f "$BENCH/seed-postgres.sql" >"$RUN/seed-pg.log" 2>&1 ||
  { tail -20 "$RUN/seed-pg.log"; die "seeding PostgreSQL failed"; }
counts=$(psql -X -At -F ' ' -d "$BENCH_DB" -c "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM learning_goals), (SELECT count(*) FROM goal_checkins), (SELECT count(*) FROM user_badges), (SELECT count(*) FROM activity_events)")
read -r c_users c_goals c_checkins c_badges c_events <<<"$counts"
echo "users $c_users, goals $c_goals, check-ins $c_checkins, badges $c_badges, events $c_events ($((($(now_ns) - t0) / 1000000)) ms)"
meta checkins_pg "$c_checkins"
meta seed_pg "users $c_users, goals $c_goals, check-ins $c_checkins, badges $c_badges, events $c_events"

say "Seed SQLite (a file in a temporary folder)"

SQLITE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/user-service-bench.XXXXXX")
SQLITE_FILE="$SQLITE_DIR/user-service.db"
SQLITE_URL="sqlite://$SQLITE_FILE"
"${SVC_ENV[@]}" DATABASE_URL="$SQLITE_URL" DATA_DIR="$SQLITE_DIR" "$BIN" migrate >"$RUN/migrate-sqlite.log" 2>&1 ||
  { cat "$RUN/migrate-sqlite.log"; die "migrate failed on SQLite"; }
t0=$(now_ns)
{
  printf 'CREATE TEMP TABLE p AS SELECT %d AS n, %d AS hist_days, %d AS long_days, %d AS many, %d AS k, %d AS ci_base, %d AS ci_new_base, %d AS cf_base, %d AS heat_base, %d AS heat_long_days, %d AS heat_days, %d AS feed_followed, %d AS feed_days, %d AS feed_long_days;\n' \
    "$N" "$HIST_DAYS" "$LONG_DAYS" "$MANY" "$K" "$CI_BASE" "$CI_NEW_BASE" "$CF_BASE" "$HEAT_BASE" "$HEAT_LONG_DAYS" "$HEAT_DAYS" \
    "$FEED_FOLLOWED" "$FEED_DAYS" "$FEED_LONG_DAYS"
  cat "$BENCH/seed-sqlite.sql"
} | sqlite3 "$SQLITE_FILE" >"$RUN/seed-sqlite.log" 2>&1 ||
  { tail -20 "$RUN/seed-sqlite.log"; die "seeding SQLite failed"; }
echo "$(tail -1 "$RUN/seed-sqlite.log") ($((($(now_ns) - t0) / 1000000)) ms, $(du -sh "$SQLITE_DIR" | cut -f1))"
meta seed_sqlite "$(tail -1 "$RUN/seed-sqlite.log")"

# Tokens (HS256, signed with JWT_SECRET by the service's own `token` command).
token() { "${SVC_ENV[@]}" DATA_DIR="$SQLITE_DIR" "$BIN" token --user "$1" --ttl 86400; }
TOKEN_ME=$(token "$U_ME")
TOKEN_W=$(token "$U_WRITE")
TOKEN_CI=$(token "$U_CI")
TOKEN_CI_NEW=$(token "$U_CI_NEW")
TOKEN_FAMOUS=$(token "$U_FAMOUS")
TOKEN_READER=$(token "$U_READER")
TOKEN_READER5=$(token "$U_READER5")
TOKEN_READER_IDLE=$(token "$U_READER_IDLE")
TOKEN_NONE=$(token "$U_NONE")
TOKEN_EV_OFF=$(token "$U_EV_OFF")
TOKEN_EV_ON=$(token "$U_EV_ON")

# ---------------------------------------------------------------------------------------
if [[ $LIMIT == 1 ]]; then
  say "Reference ($LIMIT_DB, POOL=$POOL)"
  psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS $LIMIT_DB WITH (FORCE)" -c "CREATE DATABASE $LIMIT_DB" >/dev/null
  # It seeds itself on start (ids 1..LIMIT_USERS): ids N..2N-1 match the service's.
  env DATABASE_URL="$LIMIT_URL" PORT="$LIMIT_PORT" POOL="$POOL" LIMIT_USERS=$((2 * N - 1)) \
    "$LIMIT_BIN" >"$RUN/limit.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_ready "http://127.0.0.1:$LIMIT_PORT/plain" "$SERVER_PID" 300 || { cat "$RUN/limit.log"; die "the reference did not start"; }
  # Started once more on its seeded tables, to time a start comparable to the service's.
  stop_server "$SERVER_PID"
  t0=$(now_ns)
  env DATABASE_URL="$LIMIT_URL" PORT="$LIMIT_PORT" POOL="$POOL" LIMIT_USERS=$((2 * N - 1)) \
    "$LIMIT_BIN" >>"$RUN/limit.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_ready "http://127.0.0.1:$LIMIT_PORT/plain" "$SERVER_PID" 60 || { cat "$RUN/limit.log"; die "the reference did not start"; }
  meta ready_ms_ref $((($(now_ns) - t0) / 1000000))

  L="http://127.0.0.1:$LIMIT_PORT"
  measure ref-plain 1 "$L/plain"
  measure ref-profile 1 --rand-regex-url "$L/users/$USERS_RX"
  measure ref-goals 1 --rand-regex-url "$L/users/$USERS_RX/goals"
  measure ref-insert 1 -m POST -T application/json -d "$GOAL_BODY" --rand-regex-url "$L/users/$USERS_RX/goals"
  measure ref-insert-one 1 -m POST -T application/json -d "$GOAL_BODY" "$L/users/$N/goals"
  qps=$(python3 "$BENCH/report.py" mix-qps "$RUN/ref-insert-one.json" "$RUN/ref-profile.json" \
    "$RUN/ref-goals.json" "$RUN/ref-goals.json" "$RUN/ref-goals.json")
  # A quarter profiles, three quarters lists, as the service's mix below.
  measure_mix ref-mix "$L/users/$USERS_RX(|/goals|/goals|/goals)" "$L/users/$N/goals" "" "$qps"
  meta rss_mib_ref "$(ps -o rss= -p "$SERVER_PID" | awk '{ printf "%.1f", $1 / 1024 }')"
  stop_server "$SERVER_PID"
  SERVER_PID=
fi

# ---------------------------------------------------------------------------------------
# service_run BACKEND URL: start alone, time to ready, scenarios, cost growth, memory.
service_run() {
  local b=$1 url=$2 log="$RUN/service-$1.log" t0 S qps
  t0=$(now_ns)
  "${SVC_ENV[@]}" DATABASE_URL="$url" DATA_DIR="$SQLITE_DIR" "$BIN" serve >"$log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_ready "http://127.0.0.1:$SVC_PORT/readyz" "$SERVER_PID" 60 || { cat "$log"; die "the service did not start on $b"; }
  meta "ready_ms_$b" $((($(now_ns) - t0) / 1000000))
  echo "ready after $((($(now_ns) - t0) / 1000000)) ms"

  S="http://127.0.0.1:$SVC_PORT"
  # The seeded summaries read back as the service computes them.
  curl -s -w '\n%{http_code}' "$S/users/$U_HIST/goals?limit=1" >"$RUN/probe-$b-streak.txt"
  meta "probe_${b}_seeded_streak" "$(python3 "$BENCH/report.py" probe streak "$RUN/probe-$b-streak.txt" "$LONG_DAYS" || true)"
  curl -s -w '\n%{http_code}' "$S/users/$U_HIST/stats" >"$RUN/probe-$b-stats.txt"
  meta "probe_${b}_seeded_stats" "$(python3 "$BENCH/report.py" probe stats "$RUN/probe-$b-stats.txt" $((20 * LONG_DAYS)) || true)"
  # Both heatmap users' default ranges are full: two check-ins every day but today.
  for u in "$U_HEAT5" "$U_HEAT1"; do
    curl -s -w '\n%{http_code}' "$S/users/$u/heatmap" >"$RUN/probe-$b-heatmap-$u.txt"
    meta "probe_${b}_heatmap_$u" "$(python3 "$BENCH/report.py" probe heatmap "$RUN/probe-$b-heatmap-$u.txt" 2 || true)"
  done

  measure "$b-profile" 1 --rand-regex-url "$S/users/$USERS_RX"
  measure "$b-me" 1 -H "Authorization: Bearer $TOKEN_ME" "$S/users/me"
  measure "$b-goals" 1 --rand-regex-url "$S/users/$USERS_RX/goals"
  measure "$b-badges" 1 --rand-regex-url "$S/users/$USERS_RX/badges"
  measure "$b-stats" 1 --rand-regex-url "$S/users/$USERS_RX/stats"
  measure "$b-heatmap" 1 --rand-regex-url "$S/users/$USERS_RX/heatmap"
  measure "$b-card" 1 --rand-regex-url "$S/users/$USERS_RX/card.svg"
  # The home feed of a reader following 1,000 users: its first page, and its 50th (found by
  # following the Link headers).
  measure "$b-feed" 1 -H "Authorization: Bearer $TOKEN_READER" "$S/users/$U_READER/feed"
  local page="/users/$U_READER/feed" n
  for ((n = 1; n < 50; n++)); do
    page=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $TOKEN_READER" "$S$page" |
      sed -n 's/^[Ll]ink: <\([^>]*\)>.*/\1/p')
    [[ -n $page ]] || die "the feed of $U_READER has fewer than 50 pages"
  done
  measure "$b-feed-deep" 1 -H "Authorization: Bearer $TOKEN_READER" "$S$page"
  local deep="$S$page"
  measure "$b-post-goal" 1 -m POST -T application/json -H "Authorization: Bearer $TOKEN_W" \
    -d "$GOAL_BODY" "$S/users/$U_WRITE/goals"
  profile_bodies
  measure "$b-put-profile" 1 -m PUT -T application/json -H "Authorization: Bearer $TOKEN_W" \
    -Z "$RUN/profile-bodies.txt" "$S/users/$U_WRITE"

  # The check-in user's histories end the day before yesterday: a check-in for yesterday
  # answers 201 with a streak one longer than the seeded summary.
  checkin_bodies
  curl -s -w '\n%{http_code}' -X POST -H "Authorization: Bearer $TOKEN_CI" -H 'Content-Type: application/json' \
    -d "$(sed -n 2p "$RUN/checkin-bodies.txt")" "$S/users/$U_CI/goals/$CI_BASE/checkins" >"$RUN/probe-$b-checkin.txt"
  meta "probe_${b}_checkin" "$(python3 "$BENCH/report.py" probe checkin "$RUN/probe-$b-checkin.txt" "$HIST_DAYS" || true)"
  # No warm-up: it would spend the goals' first check-ins of the day.
  measure "$b-post-checkin" 0 -m POST -T application/json -H "Authorization: Bearer $TOKEN_CI" \
    -Z "$RUN/checkin-bodies.txt" --rand-regex-url "$S/users/$U_CI/goals/$CI_RX/checkins"

  qps=$(python3 "$BENCH/report.py" mix-qps "$RUN/$b-post-goal.json" "$RUN/$b-profile.json" \
    "$RUN/$b-goals.json" "$RUN/$b-badges.json" "$RUN/$b-stats.json")
  measure_mix "$b-mix" "$S/users/$USERS_RX(|/goals|/badges|/stats)" "$S/users/$U_WRITE/goals" "$TOKEN_W" "$qps"

  echo "cost growth (A B B A):"
  measure "$b-cg-history-a1" 1 "$S/users/$U_HIST/goals"
  measure "$b-cg-history-b1" 1 "$S/users/$U_NONE/goals"
  measure "$b-cg-history-b2" 0 "$S/users/$U_NONE/goals"
  measure "$b-cg-history-a2" 0 "$S/users/$U_HIST/goals"
  measure "$b-cg-many-a1" 1 "$S/users/$U_MANY/goals?limit=20"
  measure "$b-cg-many-b1" 1 "$S/users/$U_NONE/goals?limit=20"
  measure "$b-cg-many-b2" 0 "$S/users/$U_NONE/goals?limit=20"
  measure "$b-cg-many-a2" 0 "$S/users/$U_MANY/goals?limit=20"
  measure "$b-cg-stats-a1" 1 "$S/users/$U_HIST/stats"
  measure "$b-cg-stats-b1" 1 "$S/users/$U_NONE/stats"
  measure "$b-cg-stats-b2" 0 "$S/users/$U_NONE/stats"
  measure "$b-cg-stats-a2" 0 "$S/users/$U_HIST/stats"
  measure "$b-cg-heatmap-a1" 1 "$S/users/$U_HEAT5/heatmap"
  measure "$b-cg-heatmap-b1" 1 "$S/users/$U_HEAT1/heatmap"
  measure "$b-cg-heatmap-b2" 0 "$S/users/$U_HEAT1/heatmap"
  measure "$b-cg-heatmap-a2" 0 "$S/users/$U_HEAT5/heatmap"
  # A profile, and a first page of followers, of 100,000 followers and of 10: the same
  # work (ten items a page), whatever the count.
  measure "$b-cg-followers-a1" 1 "$S/users/$U_FAMOUS"
  measure "$b-cg-followers-b1" 1 "$S/users/$U_FEW"
  measure "$b-cg-followers-b2" 0 "$S/users/$U_FEW"
  measure "$b-cg-followers-a2" 0 "$S/users/$U_FAMOUS"
  measure "$b-cg-followlist-a1" 1 "$S/users/$U_FAMOUS/followers?limit=10"
  measure "$b-cg-followlist-b1" 1 "$S/users/$U_FEW/followers?limit=10"
  measure "$b-cg-followlist-b2" 0 "$S/users/$U_FEW/followers?limit=10"
  measure "$b-cg-followlist-a2" 0 "$S/users/$U_FAMOUS/followers?limit=10"
  # The first page of the home feed: followed users with five years of history, or
  # inactive for a year, against a year (each reader follows as many); the 50th page
  # against the first; the feed of a user who follows nobody against their /activity.
  local rd="Authorization: Bearer $TOKEN_READER"
  measure "$b-cg-feed-history-a1" 1 -H "Authorization: Bearer $TOKEN_READER5" "$S/users/$U_READER5/feed"
  measure "$b-cg-feed-history-b1" 1 -H "$rd" "$S/users/$U_READER/feed"
  measure "$b-cg-feed-history-b2" 0 -H "$rd" "$S/users/$U_READER/feed"
  measure "$b-cg-feed-history-a2" 0 -H "Authorization: Bearer $TOKEN_READER5" "$S/users/$U_READER5/feed"
  measure "$b-cg-feed-idle-a1" 1 -H "Authorization: Bearer $TOKEN_READER_IDLE" "$S/users/$U_READER_IDLE/feed"
  measure "$b-cg-feed-idle-b1" 1 -H "$rd" "$S/users/$U_READER/feed"
  measure "$b-cg-feed-idle-b2" 0 -H "$rd" "$S/users/$U_READER/feed"
  measure "$b-cg-feed-idle-a2" 0 -H "Authorization: Bearer $TOKEN_READER_IDLE" "$S/users/$U_READER_IDLE/feed"
  measure "$b-cg-feed-deep-a1" 1 -H "$rd" "$deep"
  measure "$b-cg-feed-deep-b1" 1 -H "$rd" "$S/users/$U_READER/feed"
  measure "$b-cg-feed-deep-b2" 0 -H "$rd" "$S/users/$U_READER/feed"
  measure "$b-cg-feed-deep-a2" 0 -H "$rd" "$deep"
  local nd="Authorization: Bearer $TOKEN_NONE"
  measure "$b-cg-feed-alone-a1" 1 -H "$nd" "$S/users/$U_NONE/feed"
  measure "$b-cg-feed-alone-b1" 1 -H "$nd" "$S/users/$U_NONE/activity?limit=30"
  measure "$b-cg-feed-alone-b2" 0 -H "$nd" "$S/users/$U_NONE/activity?limit=30"
  measure "$b-cg-feed-alone-a2" 0 -H "$nd" "$S/users/$U_NONE/feed"
  checkin_bodies
  measure "$b-cg-checkin-none" 0 -m POST -T application/json -H "Authorization: Bearer $TOKEN_CI_NEW" \
    -Z "$RUN/checkin-bodies.txt" --rand-regex-url "$S/users/$U_CI_NEW/goals/$CI_NEW_RX/checkins"
  # The same check-ins by a user with 100,000 followers: nothing on the write path reads them.
  checkin_bodies
  measure "$b-cg-checkin-followers" 0 -m POST -T application/json -H "Authorization: Bearer $TOKEN_FAMOUS" \
    -Z "$RUN/checkin-bodies.txt" --rand-regex-url "$S/users/$U_FAMOUS/goals/$CF_RX/checkins"

  meta "rss_mib_$b" "$(ps -o rss= -p "$SERVER_PID" | awk '{ printf "%.1f", $1 / 1024 }')"
  meta "hwm_mib_$b" "$(awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status")"
  stop_server "$SERVER_PID"
  SERVER_PID=
}

# serve_alone "ENV=VALUE ..." LOG: the service on PostgreSQL started alone with ENV added.
serve_alone() {
  # shellcheck disable=SC2086
  "${SVC_ENV[@]}" $1 DATABASE_URL="$PG_URL" DATA_DIR="$SQLITE_DIR" "$BIN" serve >"$2" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_ready "http://127.0.0.1:$SVC_PORT/readyz" "$SERVER_PID" 60 || { cat "$2"; die "the service did not start with ${1:-no setting added}"; }
}

# variant NAME "ENV=VALUE ..." MEASURE-ARGS...: the service on PostgreSQL started alone with
# ENV added, one scenario measured as pg-NAME (a setting's cost, against the same scenario
# without it and the reference).
variant() {
  local name=$1 env=$2
  shift 2
  serve_alone "$env" "$RUN/service-pg-$name.log"
  measure "pg-$name" 1 "$@"
  stop_server "$SERVER_PID"
  SERVER_PID=
}

# The outbox: its last seq and how many events wait to be published.
outbox_state() {
  psql -X -At -F ' ' -d "$BENCH_DB" -c "SELECT coalesce(max(seq), 0), count(*) FILTER (WHERE published_at IS NULL) FROM event_outbox"
}

# events_run NAME on|off WARM MEASURE-ARGS...: the service on PostgreSQL started alone,
# publishing to RabbitMQ when on, one scenario measured as pg-NAME. When on, it is stopped
# only once the relay has published every event (at most 60 s), so that no run publishes
# another's, and pg-NAME.events.json records the events the measured run wrote, those
# waiting at its start and end, and how long after its end the last went out.
events_run() {
  local name=$1 on=$2 warm=$3 env= seq0 pending0 written pending1 t1 waited= i
  shift 3
  [[ $on == on ]] && env="EVENTS_URL=$EV_URL EVENTS_EXCHANGE=$EV_EXCHANGE"
  serve_alone "$env" "$RUN/service-pg-$name.log"
  if [[ $warm == 1 ]]; then oha_run /dev/null "$WARMUP" "$CONNS" "$@" || true; fi
  read -r seq0 pending0 <<<"$(outbox_state)"
  snap_begin
  oha_run "$RUN/pg-$name.json" "$DURATION" "$CONNS" "$@" || true
  snap_end "$RUN/pg-$name.meta.json"
  if [[ $on == on ]]; then
    read -r _ pending1 <<<"$(outbox_state)"
    t1=$(now_ns)
    written=$(psql -X -At -d "$BENCH_DB" -c "SELECT count(*) FROM event_outbox WHERE seq > $seq0")
    for ((i = 0; i < 600; i++)); do
      if [[ $(outbox_state | cut -d' ' -f2) == 0 ]]; then waited=$((($(now_ns) - t1) / 1000000)); break; fi
      sleep 0.1
    done
    printf '{"written": %d, "pending_at_start": %d, "pending_at_end": %d, "drained_ms": %s}\n' \
      "$written" "$pending0" "$pending1" "${waited:-null}" >"$RUN/pg-$name.events.json"
  fi
  python3 "$BENCH/report.py" line "$RUN" "pg-$name"
  stop_server "$SERVER_PID"
  SERVER_PID=
}

say "user-service on PostgreSQL (DB_MAX_CONNECTIONS=$POOL)"
service_run pg "$PG_URL"

say "user-service on PostgreSQL, settings that cost something"
S="http://127.0.0.1:$SVC_PORT"
# The auth-service's logouts honoured: each token's jti looked up (and remembered 5 s).
variant me-denylist "JWT_DENYLIST_TABLE=token_blacklist" -H "Authorization: Bearer $TOKEN_ME" "$S/users/me"
variant me-denylist-nocache "JWT_DENYLIST_TABLE=token_blacklist JWT_DENYLIST_CACHE_SECS=0" \
  -H "Authorization: Bearer $TOKEN_ME" "$S/users/me"
# What the metrics cost a profile read: off and on, A B B A, each on a service of its own.
variant profile-metrics-off-1 "METRICS_ENABLED=false" --rand-regex-url "$S/users/$USERS_RX"
variant profile-metrics-on-1 "METRICS_ENABLED=true" --rand-regex-url "$S/users/$USERS_RX"
variant profile-metrics-on-2 "METRICS_ENABLED=true" --rand-regex-url "$S/users/$USERS_RX"
variant profile-metrics-off-2 "METRICS_ENABLED=false" --rand-regex-url "$S/users/$USERS_RX"
# The rate limit shared through Redis: one script call per request, a limit never reached
# (the token's bucket must not run dry), keys of this run's own.
variant me-redis-limit "RATE_LIMIT_PER_MINUTE=100000000 RATE_LIMIT_REDIS_URL=$REDIS_URL RATE_LIMIT_REDIS_PREFIX=user-service-bench:$$:" \
  -H "Authorization: Bearer $TOKEN_ME" "$S/users/me"

if [[ $EVENTS == 1 ]]; then
  say "user-service on PostgreSQL, publishing events to RabbitMQ ($EV_EXCHANGE) or not"
  # POST goal off, on, on, off (one user's goals grow throughout: the halves cancel that);
  # POST check-in as the scenario above, off then on, each on a user of its own whose
  # check-ins no other run spent.
  for run in off1 on1 on2 off2; do
    events_run "events-goal-$run" "${run%[12]}" 1 -m POST -T application/json \
      -H "Authorization: Bearer $TOKEN_W" -d "$GOAL_BODY" "$S/users/$U_WRITE/goals"
  done
  checkin_bodies
  events_run events-checkin-off off 0 -m POST -T application/json -H "Authorization: Bearer $TOKEN_EV_OFF" \
    -Z "$RUN/checkin-bodies.txt" --rand-regex-url "$S/users/$U_EV_OFF/goals/$EV_OFF_RX/checkins"
  events_run events-checkin-on on 0 -m POST -T application/json -H "Authorization: Bearer $TOKEN_EV_ON" \
    -Z "$RUN/checkin-bodies.txt" --rand-regex-url "$S/users/$U_EV_ON/goals/$EV_ON_RX/checkins"
fi

say "user-service on SQLite"
service_run sqlite "$SQLITE_URL"
meta sqlite_locked_lines "$(grep -ci 'database is locked' "$RUN/service-sqlite.log" || true)"

# Start-up on an empty SQLite file: the schema is created and migrated on start.
t0=$(now_ns)
"${SVC_ENV[@]}" DATABASE_URL="sqlite://$SQLITE_DIR/fresh.db" DATA_DIR="$SQLITE_DIR" "$BIN" serve \
  >"$RUN/service-sqlite-fresh.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
wait_ready "http://127.0.0.1:$SVC_PORT/readyz" "$SERVER_PID" 60 || die "the service did not start on an empty SQLite file"
meta ready_ms_sqlite_fresh $((($(now_ns) - t0) / 1000000))
stop_server "$SERVER_PID"
SERVER_PID=

# ---------------------------------------------------------------------------------------
meta load_after "$(cut -d' ' -f1-3 /proc/loadavg)"
say "Results ($RUN)"
status=0
python3 "$BENCH/report.py" summary "$RUN" || status=1
((FAILED == 0)) || { echo "oha failed at least once: see $RUN/oha.log"; status=1; }
exit "$status"

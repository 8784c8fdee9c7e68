#!/usr/bin/env bash
# Fuzzes the running service with Schemathesis: every check, against the OpenAPI document
# it serves, with a valid token, on a fresh database. Fails on any server error or any
# answer the document does not describe. Needs target/debug/user-service (cargo test builds
# it) and a virtual environment with schemathesis (.ci/run makes one).
#
#   SCHEMATHESIS_BACKEND   sqlite (default) or postgres (a fresh database on 127.0.0.1:5432)
#   RATE_LIMIT_PER_MINUTE  when set, the service limits each client to it: most answers are
#                          then the documented 429
#   SCHEMATHESIS_SEED (printed), SCHEMATHESIS_EXAMPLES
set -euo pipefail
cd "$(dirname "$0")/.."

binary=target/debug/user-service
st=.venv/bin/st
work=$(mktemp -d)
server=
database=
cleanup() {
  if [ -n "$server" ]; then kill -INT "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ -n "$database" ]; then
    psql -X -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

backend=${SCHEMATHESIS_BACKEND:-sqlite}
case $backend in
  sqlite) url="sqlite://$work/fuzz.db" ;;
  postgres)
    database="schemathesis_$$_$RANDOM"
    psql -X -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $database"
    url="postgres://postgres@127.0.0.1:5432/$database"
    ;;
  *) echo "SCHEMATHESIS_BACKEND must be sqlite or postgres" >&2; exit 2 ;;
esac
rate_limit=${RATE_LIMIT_PER_MINUTE:-0}
seed=${SCHEMATHESIS_SEED:-$RANDOM}
echo "Schemathesis on $backend, RATE_LIMIT_PER_MINUTE=$rate_limit, seed $seed"

unset CORS_ALLOWED_ORIGINS JWT_PUBLIC_KEY JWT_JWKS_URL 2>/dev/null || true
export DATA_DIR="$work/data" JWT_SECRET="schemathesis-$RANDOM-$RANDOM" LISTEN_ADDR=127.0.0.1:0 \
  LOG_FORMAT=json RUST_LOG=warn,user_service::startup=info DATABASE_URL="$url" \
  RATE_LIMIT_PER_MINUTE="$rate_limit"
"$binary" users create --id 1 --username fuzz >/dev/null
# The token may award badges too, so those two operations are fuzzed past their 403.
token=$("$binary" token --user 1 --ttl 7200 --scope badges:award)

"$binary" serve >"$work/server.log" 2>&1 &
server=$!
address=
for _ in $(seq 1 100); do
  address=$(sed -n 's/.*"address":"\([^"]*\)".*"message":"serving".*/\1/p;s/.*"message":"serving".*"address":"\([^"]*\)".*/\1/p' "$work/server.log" | head -n1)
  [ -n "$address" ] && break
  sleep 0.1
done
[ -n "$address" ] || { cat "$work/server.log"; echo "the service did not start"; exit 1; }

# One worker: with two, Hypothesis parses source in two threads at once and CPython 3.11
# can fail with "AST constructor recursion depth mismatch", a runtime error in the tool.
"$st" --config-file .ci/schemathesis.toml run "http://$address/openapi.json" \
  --header "Authorization: Bearer $token" \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-50}" --workers 1 --seed "$seed" \
  --no-color --wait-for-schema 10

#!/usr/bin/env bash
# Fuzzes the running service with Schemathesis: every check, against the OpenAPI document
# it serves, with a valid token, on a fresh SQLite database. Fails on any server error or
# any answer the document does not describe. Needs target/debug/user-service (cargo test
# builds it) and a virtual environment with schemathesis (.ci/run makes one).
set -euo pipefail
cd "$(dirname "$0")/.."

binary=target/debug/user-service
st=.venv/bin/st
work=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill -INT "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

export DATA_DIR="$work/data" JWT_SECRET="schemathesis-$RANDOM-$RANDOM" LISTEN_ADDR=127.0.0.1:0 \
  LOG_FORMAT=json RUST_LOG=warn,user_service::startup=info DATABASE_URL="sqlite://$work/fuzz.db"
unset CORS_ALLOWED_ORIGINS RATE_LIMIT_PER_MINUTE JWT_PUBLIC_KEY JWT_JWKS_URL 2>/dev/null || true
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
  --max-examples "${SCHEMATHESIS_EXAMPLES:-50}" --workers 1 --seed "${SCHEMATHESIS_SEED:-$RANDOM}" \
  --no-color --wait-for-schema 10

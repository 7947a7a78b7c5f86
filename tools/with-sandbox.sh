#!/usr/bin/env bash
# Runs a command with the sandbox (tests/sandbox) listening on a free loopback port and every
# vendor's base URL and credentials exported to point at it, then stops the sandbox.
#
#   tools/with-sandbox.sh sqlite3 :memory: ".load build/interactions" "SELECT ..."
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
"${PYTHON:-python3}" "$root/tests/sandbox/server.py" --port 0 --port-file "$work/port" \
  --log "$work/requests.log" ${SANDBOX_ARGS:-} >"$work/sandbox.out" 2>&1 &
sandbox=$!
trap 'kill "$sandbox" 2>/dev/null || true; wait "$sandbox" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 200); do
  [ -s "$work/port" ] && break
  kill -0 "$sandbox" 2>/dev/null || break
  sleep 0.05
done
if [ ! -s "$work/port" ]; then
  cat "$work/sandbox.out" >&2
  echo "tools/with-sandbox.sh: the sandbox did not start" >&2
  exit 1
fi
export SANDBOX_URL="http://127.0.0.1:$(cat "$work/port")"
export SANDBOX_LOG="$work/requests.log"
# shellcheck source=/dev/null
. "$root/examples/sandbox.env"
"$@"

#!/usr/bin/env bash
# Walk the desktop client through activate, status, refresh and deactivate
# against a running `make run` service (same machine, same instance folder).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
# TESSERA_DEMO_URL: the service as devices reach it (e.g. through nginx, deploy/README.md).
URL="${TESSERA_DEMO_URL:-http://${HOST:-127.0.0.1}:${PORT:-8000}}"
CLIENT="$BIN/tessera-client"  # clients/python, installed into .venv by make venv
STATE_DIR="${TESSERA_DEMO_STATE_DIR:-${TESSERA_INSTANCE_DIR:-instance}/demo-device}"

step() { printf '\n== %s\n' "$*"; }

if ! "$BIN/python" -c 'import sys, requests; requests.get(sys.argv[1], timeout=3).raise_for_status()' \
        "$URL/readyz" >/dev/null 2>&1; then
    echo "No Tessera answers at $URL: start it with 'make run' in another terminal." >&2
    exit 1
fi

step "seed the demo product, account and license (idempotent), issue a code"
seed=$("$BIN/flask" --app wsgi admin seed-demo --json)
echo "$seed"
code=$("$BIN/python" -c 'import json,sys; print(json.loads(sys.argv[1])["code"])' "$seed")

# A fresh device each run; the key and state live in the demo folder (0600).
rm -rf "$STATE_DIR"
fingerprint="demo-device-$("$BIN/python" -c 'import secrets; print(secrets.token_hex(8))')"

step "tessera-client activate"
"$CLIENT" activate --server "$URL" --product numflo --code "$code" \
    --fingerprint "$fingerprint" --device-name "demo workstation" --state-dir "$STATE_DIR"

step "tessera-client status (offline: verifies the lease against the pinned keys)"
"$CLIENT" status --state-dir "$STATE_DIR"

step "tessera-client refresh --force"
"$CLIENT" refresh --force --state-dir "$STATE_DIR"

step "tessera-client status --json"
"$CLIENT" status --json --state-dir "$STATE_DIR"

step "tessera-client deactivate"
"$CLIENT" deactivate --state-dir "$STATE_DIR"

step "tessera-client status after deactivation (exit code 6: not activated)"
set +e
"$CLIENT" status --state-dir "$STATE_DIR"
echo "exit code: $?"
set -e
step "demo complete"

#!/usr/bin/env bash
# CI: fuzzes the served OpenAPI spec with schemathesis, so the spec keeps telling the whole
# truth: every answer exsync gives is documented for its operation, every documented body
# is accepted, every answer matches its schema. Fails on any failure.
#
# - schemathesis is pinned and installed by this script into a venv under target/ (ignored);
# - exsync is built and run as `exsync demo` on a free loopback port: its space `acme` and
#   users `ann` and `bo` are the spec's examples, so the fuzzing reaches real users, links,
#   journals and folders (the simulators stand in for Graph and Pipeliner); the admin token
#   is read from the demo's banner; the demo is stopped at the end;
# - run time is bounded by --max-examples, 100 cases per operation and phase (about 3,500
#   cases, about a minute and a half); override with SCHEMATHESIS_MAX_EXAMPLES.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-100}"
PYTHON="${PYTHON:-python3.11}"
VENV="target/ci/schemathesis-$SCHEMATHESIS_VERSION"

if [[ ! -x "$VENV/bin/schemathesis" ]]; then
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION"
fi

cargo build --quiet --bin exsync

LOG="$(mktemp)"
PORT="$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"

EXSYNC_LOG=warn target/debug/exsync demo --bind "127.0.0.1:$PORT" >"$LOG" 2>&1 &
EXSYNC_PID=$!
stop() {
    kill "$EXSYNC_PID" 2>/dev/null || true
    wait "$EXSYNC_PID" 2>/dev/null || true
    rm -f "$LOG"
}
trap stop EXIT

TOKEN=""
for _ in $(seq 300); do
    TOKEN="$(sed -n 's/^ *Admin token: *\([A-Za-z0-9_-]\{32,\}\).*/\1/p' "$LOG" | head -n 1)"
    [[ -n "$TOKEN" ]] && curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
    kill -0 "$EXSYNC_PID" 2>/dev/null || { cat "$LOG"; exit 1; }
    sleep 0.1
done
if [[ -z "$TOKEN" ]]; then
    echo "the demo printed no 'Admin token:' line:" >&2
    cat "$LOG" >&2
    exit 1
fi

# Every check runs (--checks all). Two narrowings, with their reasons in full in
# .ci/schemathesis.toml:
# - positive_data_acceptance also takes 422: rules between values that JSON Schema does
#   not carry (sync_preference only with crm_to_exchange, a URL that parses, unique
#   mapping names, EWS credentials not supported yet) are answered 422 naming the field;
# - not_a_server_error also takes 502: a space the fuzzer registers names real Microsoft
#   and Pipeliner hosts, unreachable from CI; 502 `*_unreachable` is the documented answer.
# It runs in a fresh directory under target/, where Hypothesis keeps its example database
# and schemathesis its replay data, so every run starts from the same seed alone. One
# worker: with two, Hypothesis parses lambda sources in both threads at once, which
# CPython 3.11 answers now and then with "SystemError: AST constructor recursion depth
# mismatch" (a race in its AST validator), failing a run that found nothing.
ROOT="$PWD"
WORK="target/ci/schemathesis-run"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
"$ROOT/$VENV/bin/schemathesis" --config-file "$ROOT/.ci/schemathesis.toml" \
    run "$BASE/api-docs/openapi.json" \
    --checks all \
    --header "Authorization: Bearer $TOKEN" \
    --max-examples "$MAX_EXAMPLES" \
    --seed 24 \
    --no-color \
    --workers 1

#!/usr/bin/env bash
# Runs the two sample Python programs of the ShieldConex spec, unchanged, against
# `batch-tokenize simulate`, and checks that every request they send is answered with success.
# They are read from ../shared/spec/samples/ (never copied into the project); when that folder
# is absent the check is skipped, and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
samples="${SPEC_SAMPLES:-../shared/spec/samples}"
if [ ! -f "$samples/scx_action.py" ] || [ ! -f "$samples/heartbeat.py" ]; then
  echo "spec-samples: SKIPPED: $samples (the spec's sample programs) is absent"
  exit 0
fi

venv=".build-venv/spec-samples"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'websockets<14'
fi

swift build --product batch-tokenize >/dev/null
bin="$(swift build --show-bin-path)/batch-tokenize"
work="$(mktemp -d)"
key="c3BlYy1zYW1wbGVzOmtleQ=="
export SWIFT_BACKTRACE=enable=no

"$bin" simulate --port 0 --key "$key" >"$work/simulator.out" 2>"$work/simulator.err" &
sim=$!
trap 'kill "$sim" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  grep -q '^listening on ' "$work/simulator.out" 2>/dev/null && break
  sleep 0.1
done
url="$(sed -n 's/^listening on //p' "$work/simulator.out" | head -n 1)"
[ -n "$url" ] || { echo "spec-samples: the simulator did not start"; cat "$work/simulator.err"; exit 1; }
echo "spec-samples: simulator at $url"
export SCX_ENV_URL="$url" SCX_BASE_64_KEY="$key"

fail=0
echo "spec-samples: scx_action.py"
"$venv/bin/python" "$samples/scx_action.py" >"$work/action.out" 2>&1 || { cat "$work/action.out"; fail=1; }
if ! grep -q '"success": true' "$work/action.out" || grep -q '"success": false' "$work/action.out"; then
  echo "spec-samples: scx_action.py did not get a successful answer:"; cat "$work/action.out"; fail=1
else
  echo "  tokenize answered with success: true"
fi

echo "spec-samples: heartbeat.py for 14 s (it never exits by itself)"
timeout 14 "$venv/bin/python" "$samples/heartbeat.py" >"$work/heartbeat.out" 2>&1 || true
beats="$(grep -c '^Received: ' "$work/heartbeat.out" || true)"
good_beats="$(grep '^Received: ' "$work/heartbeat.out" | grep -c '"success":true' || true)"
if [ "$beats" -lt 3 ] || [ "$beats" != "$good_beats" ]; then
  echo "spec-samples: heartbeat.py: $good_beats of $beats heartbeats succeeded (need at least 3, all successful):"
  cat "$work/heartbeat.out"; fail=1
else
  echo "  $beats heartbeats, all answered with success: true"
fi
if ! grep -q '"success": true' "$work/heartbeat.out" || grep -q '"success": false' "$work/heartbeat.out"; then
  echo "spec-samples: heartbeat.py's tokenize request did not succeed:"; cat "$work/heartbeat.out"; fail=1
else
  echo "  its tokenize request (omit, store) answered with success: true"
fi
if grep -q 'Connection closed' "$work/heartbeat.out"; then
  echo "spec-samples: heartbeat.py saw its connection closed:"; cat "$work/heartbeat.out"; fail=1
fi

kill -INT "$sim"
wait "$sim" || true
cat "$work/simulator.out" | sed 's/^/  /'
if [ "$fail" -ne 0 ]; then
  echo "spec-samples: FAILED"
  exit 1
fi
echo "spec-samples: 2 passed, 0 failed"

#!/usr/bin/env bash
# EndToEnd: every contender tokenizes the same generated file, one after the other in one run,
# each against a fresh `batch-tokenize simulate` in its own process (the simulator's vault grows,
# so a shared one would favour whoever goes first):
#   - batch-tokenize run (defaults: 4 connections x 64 in flight, checkpoint, ordered output);
#   - the plain Python peer (../shared/peers/python_batch_tokenize.py: websockets);
#   - the tuned Python peer (../shared/peers/python_fast_batch_tokenize.py: picows, orjson, uvloop);
#   - the floor (Benchmarks/Floor: a bare SwiftNIO WebSocket client pipelining frames of a
#     tokenize request's size to a bare echo server; no JSON, no files, no SQLite), three times
#     (before the engine, after it, at the end), the median of the three for the ratio.
# Prints for each: records/s, client CPU µs per record (user + system of the client process),
# peak RSS; for the simulator, its own CPU µs per request; then the ratios the budget of
# DESIGN.md is about: engine / floor and engine / tuned peer.
#
#   Benchmarks/end-to-end.sh [ROWS] [--no-peer]
set -euo pipefail
rows=${1:-1000000}
peer=yes
[ "${2:-}" = "--no-peer" ] && peer=no
cd "$(dirname "$0")/.."
swift build -c release --product batch-tokenize >/dev/null
swift build -c release --product Floor >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
sim=
trap '[ -n "$sim" ] && kill $sim 2>/dev/null; rm -rf "$work"' EXIT
python3 scripts/generate-cards.py --rows "$rows" --seed 1 --format csv --out "$work/cards.csv"
if [ $peer = yes ] && ! [ -x .build-venv/peer/bin/python ]; then
  python3 -m venv .build-venv/peer
fi
if [ $peer = yes ]; then
  .build-venv/peer/bin/python -c 'import websockets, picows, orjson, uvloop' 2>/dev/null \
    || .build-venv/peer/bin/pip install --quiet 'websockets>=14' picows orjson uvloop
fi
key=$(printf bench:key | base64)
template=438ac8afecdd8035a21c126ee1fe6c19
maps=(--map card_number=card_number --map card_exp=card_exp --map card_cvv=card_cvv)

# A fresh simulator: sets $sim and $url.
start_simulator() {
  "$bin/batch-tokenize" simulate --port 0 --key "$key" > "$work/sim.out" &
  sim=$!
  until grep -q "listening on" "$work/sim.out" 2>/dev/null; do sleep 0.1; done
  url=$(sed -n 's/^listening on //p' "$work/sim.out")
}

# Stops it and prints its CPU µs per request (user + system of its process).
stop_simulator() {
  local ticks
  ticks=$(awk '{ print $14 + $15 }' "/proc/$sim/stat")
  kill -INT $sim
  wait $sim 2>/dev/null || true
  sim=
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v n="$rows" 'BEGIN { printf "%.1f", t / hz / n * 1e6 }'
}

declare -A cpu
report() {  # name, time file, extra text
  # The last line: GNU time puts "Command exited with non-zero status N" before it.
  read -r elapsed user system rss < <(tail -n 1 "$2")
  cpu[$1]=$(awk -v n="$rows" -v u="$user" -v s="$system" 'BEGIN { printf "%.2f", (u + s) / n * 1e6 }')
  awk -v n="$rows" -v e="$elapsed" -v u="$user" -v s="$system" -v m="$rss" -v name="$1" -v extra="$3" 'BEGIN {
    printf "%-20s %9d records %8.2f s %9.0f records/s %7.2f µs CPU/record %8.1f MiB peak RSS  %s\n",
      name, n, e, n / e, (u + s) / n * 1e6, m / 1024, extra }'
}

# The floor: its own echo server (no simulator), frames of a tokenize request's size. Run three
# times — before the engine, after it, and at the end — and the median taken: its few seconds
# otherwise fall in whatever spell the machine is in, which the others' minutes average out.
floor_runs=()
run_floor() {  # label
  "$bin/Floor" server > "$work/floor.out" &
  sim=$!
  until grep -q "listening on" "$work/floor.out" 2>/dev/null; do sleep 0.1; done
  floor_url=$(sed -n 's/^listening on //p' "$work/floor.out")
  /usr/bin/time -f "%e %U %S %M" -o "$work/floor-$1.time" "$bin/Floor" client "$floor_url" "$rows" 4 64 280 > "$work/floor.result"
  # SIGTERM: a background job of a script ignores SIGINT, and the bare server has no handler of its own.
  kill $sim 2>/dev/null || true
  wait $sim 2>/dev/null || true
  sim=
  floor_runs+=("$1")
}
run_floor before

# batch-tokenize. The summary goes to stderr; exit status 2 says that some records were rejected
# (expected: the file has dirty rows, as a legacy export does, and the books must balance).
start_simulator
status=0
SCX_API_KEY="$key" /usr/bin/time -f "%e %U %S %M" -o "$work/swift.time" \
  "$bin/batch-tokenize" run --endpoint "$url" --template-ref $template --input "$work/cards.csv" \
  --output "$work/swift.csv" "${maps[@]}" --progress-interval 3600 2> "$work/swift.out" || status=$?
simulator=$(stop_simulator)
[ "$status" = 0 ] || [ "$status" = 2 ] || { cat "$work/swift.out"; echo "batch-tokenize: exit status $status" >&2; exit 1; }
grep -q "the books balance: read $rows" "$work/swift.out" || { cat "$work/swift.out"; echo "batch-tokenize: the books do not balance" >&2; exit 1; }
grep -E "^(done|rejected):" "$work/swift.out" | tr '\n' ' '; echo
latency=$(sed -n 's/^latency: //p' "$work/swift.out" | sed 's/, p90 [^,]*//; s/, max.*//')
report batch-tokenize "$work/swift.time" "latency $latency; simulator $simulator µs CPU/request"
run_floor after-engine

if [ $peer = yes ]; then
  for name in python-plain python-tuned; do
    script=../shared/peers/python_batch_tokenize.py
    [ $name = python-tuned ] && script=../shared/peers/python_fast_batch_tokenize.py
    start_simulator
    SCX_API_KEY="$key" /usr/bin/time -f "%e %U %S %M" -o "$work/$name.time" \
      .build-venv/peer/bin/python "$script" --endpoint "$url" --template-ref $template \
      --input "$work/cards.csv" --output "$work/$name.csv" "${maps[@]}" > "$work/$name.out"
    simulator=$(stop_simulator)
    report $name "$work/$name.time" "simulator $simulator µs CPU/request"
  done
fi

run_floor end
for label in "${floor_runs[@]}"; do
  report "floor ($label)" "$work/floor-$label.time" "bare WebSocket, 280-byte frames"
done
cpu[floor]=$(printf '%s\n' "${cpu[floor (before)]}" "${cpu[floor (after-engine)]}" "${cpu[floor (end)]}" | sort -g | sed -n 2p)
echo "floor, median of the three: ${cpu[floor]} µs CPU/message"

awk -v e="${cpu[batch-tokenize]}" -v f="${cpu[floor]}" 'BEGIN { printf "ratio engine / floor:        %.1f× (target ≤ 3×)\n", e / f }'
if [ $peer = yes ]; then
  awk -v e="${cpu[batch-tokenize]}" -v p="${cpu[python-tuned]}" 'BEGIN { printf "ratio engine / tuned peer:   %.2f (target ≤ 0.33)\n", e / p }'
  awk -v e="${cpu[batch-tokenize]}" -v p="${cpu[python-plain]}" 'BEGIN { printf "ratio engine / plain peer:   %.2f\n", e / p }'
fi

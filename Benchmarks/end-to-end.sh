#!/usr/bin/env bash
# EndToEnd: every contender tokenizes the same generated file, one after the other in one run,
# each against a fresh `batch-tokenize simulate` in its own process (the simulator's vault grows,
# so a shared one would favour whoever goes first):
#   - batch-tokenize run (defaults: an adaptive window from 4 connections x 64 in flight,
#     checkpoint, ordered output);
#   - the plain Python peer (../shared/peers/python_batch_tokenize.py: websockets);
#   - the tuned Python peer (../shared/peers/python_fast_batch_tokenize.py: picows, orjson, uvloop);
#   - the floor (Benchmarks/Floor: a bare SwiftNIO WebSocket client pipelining frames of a
#     tokenize request's size to a bare echo server; no JSON, no files, no SQLite), three times
#     (before the engine, after it, at the end), the median of the three for the ratio.
# Prints for each: records/s, client CPU µs per record (user + system of the client process),
# peak RSS; for the simulator, its own CPU µs per request; then the ratios the budget of
# DESIGN.md is about: engine / floor and engine / tuned peer.
#
# With --rounds N, the engine, the floor and the tuned peer run N times, interleaved (engine,
# floor, tuned peer; again), and the ratios are taken between their medians, each round's
# figures printed as well: one run of each swings by 15% on this machine either way, with
# whatever else it is doing, and a ratio of two single runs by twice that.
#
#   Benchmarks/end-to-end.sh [ROWS] [--no-peer] [--rounds N]
set -euo pipefail
rows=1000000
peer=yes
rounds=3
while [ $# -gt 0 ]; do
  case $1 in
    --no-peer) peer=no ;;
    --rounds) rounds=$2; shift ;;
    *) rows=$1 ;;
  esac
  shift
done
cd "$(dirname "$0")/.."
swift build -c release --product batch-tokenize >/dev/null
swift build -c release --package-path Benchmarks --product Floor >/dev/null
bin=$(swift build -c release --show-bin-path)
floor=$(swift build -c release --package-path Benchmarks --show-bin-path)/Floor
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
  rm -f "$work/sim.out"  # (read before the new simulator truncates it, the last one's address was taken)
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
    printf "%-24s %9d records %8.2f s %9.0f records/s %7.2f µs CPU/record %8.1f MiB peak RSS  %s\n",
      name, n, e, n / e, (u + s) / n * 1e6, m / 1024, extra }'
}

# The floor: its own echo server (no simulator), frames of a tokenize request's size. Run
# before the engine, after it, and at the end (and once more per further round), the median
# taken: its few seconds otherwise fall in whatever spell the machine is in, which the others'
# minutes average out.
floor_runs=()
run_floor() {  # label
  "$floor" server > "$work/floor.out" &
  sim=$!
  until grep -q "listening on" "$work/floor.out" 2>/dev/null; do sleep 0.1; done
  floor_url=$(sed -n 's/^listening on //p' "$work/floor.out")
  /usr/bin/time -f "%e %U %S %M" -o "$work/floor-$1.time" "$floor" client "$floor_url" "$rows" 4 64 280 > "$work/floor.result"
  # SIGTERM: a background job of a script ignores SIGINT, and the bare server has no handler of its own.
  kill $sim 2>/dev/null || true
  wait $sim 2>/dev/null || true
  sim=
  floor_runs+=("$1")
}

# batch-tokenize. The summary goes to stderr; exit status 2 says that some records were rejected
# (expected: the file has dirty rows, as a legacy export does, and the books must balance).
run_engine() {  # name
  start_simulator
  status=0
  rm -f "$work/swift.csv" "$work"/swift.csv.*
  SCX_API_KEY="$key" /usr/bin/time -f "%e %U %S %M" -o "$work/$1.time" \
    "$bin/batch-tokenize" run --endpoint "$url" --template-ref $template --input "$work/cards.csv" \
    --output "$work/swift.csv" "${maps[@]}" --progress-interval 3600 2> "$work/swift.out" || status=$?
  simulator=$(stop_simulator)
  [ "$status" = 0 ] || [ "$status" = 2 ] || { cat "$work/swift.out"; echo "batch-tokenize: exit status $status" >&2; exit 1; }
  grep -q "the books balance: read $rows" "$work/swift.out" || { cat "$work/swift.out"; echo "batch-tokenize: the books do not balance" >&2; exit 1; }
  grep -E "^(done|rejected):" "$work/swift.out" | tr '\n' ' '; echo
  latency=$(sed -n 's/^latency: //p' "$work/swift.out" | sed 's/, p90 [^,]*//; s/, max.*//')
  report "$1" "$work/$1.time" "latency $latency; simulator $simulator µs CPU/request"
}

run_peer() {  # name, script
  start_simulator
  SCX_API_KEY="$key" /usr/bin/time -f "%e %U %S %M" -o "$work/$1.time" \
    .build-venv/peer/bin/python "$2" --endpoint "$url" --template-ref $template \
    --input "$work/cards.csv" --output "$work/$1.csv" "${maps[@]}" > "$work/$1.out"
  simulator=$(stop_simulator)
  report "$1" "$work/$1.time" "simulator $simulator µs CPU/request"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
suffix() { [ "$1" = 1 ] && [ "$rounds" = 1 ] && echo "" || echo " #$1"; }

engines=(); tuned=()
run_floor before
for round in $(seq 1 "$rounds"); do
  name="batch-tokenize$(suffix "$round")"
  run_engine "$name"
  engines+=("${cpu[$name]}")
  run_floor "after-engine$(suffix "$round")"
  if [ $peer = yes ]; then
    if [ "$round" = 1 ]; then run_peer python-plain ../shared/peers/python_batch_tokenize.py; fi
    name="python-tuned$(suffix "$round")"
    run_peer "$name" ../shared/peers/python_fast_batch_tokenize.py
    tuned+=("${cpu[$name]}")
  fi
done
run_floor end

floors=()
for label in "${floor_runs[@]}"; do
  report "floor ($label)" "$work/floor-$label.time" "bare WebSocket, 280-byte frames"
  floors+=("${cpu[floor ($label)]}")
done
cpu[floor]=$(median "${floors[@]}")
cpu[engine]=$(median "${engines[@]}")
echo "floor, median of the ${#floors[@]}: ${cpu[floor]} µs CPU/message"
if [ "$rounds" != 1 ]; then
  echo "batch-tokenize, median of the $rounds: ${cpu[engine]} µs CPU/record"
  for round in $(seq 1 "$rounds"); do
    line="round $round: engine / floor $(awk -v e="${engines[$((round - 1))]}" -v f="${cpu[floor]}" 'BEGIN { printf "%.1f×", e / f }')"
    [ $peer = yes ] && line="$line, engine / tuned peer $(awk -v e="${engines[$((round - 1))]}" -v p="${tuned[$((round - 1))]}" 'BEGIN { printf "%.2f", e / p }')"
    echo "$line"
  done
fi

awk -v e="${cpu[engine]}" -v f="${cpu[floor]}" 'BEGIN { printf "ratio engine / floor:        %.1f× (target ≤ 3×)\n", e / f }'
if [ $peer = yes ]; then
  cpu[tuned]=$(median "${tuned[@]}")
  [ "$rounds" != 1 ] && echo "python-tuned, median of the $rounds: ${cpu[tuned]} µs CPU/record"
  awk -v e="${cpu[engine]}" -v p="${cpu[tuned]}" 'BEGIN { printf "ratio engine / tuned peer:   %.2f (target ≤ 0.33)\n", e / p }'
  awk -v e="${cpu[engine]}" -v p="${cpu[python-plain]}" 'BEGIN { printf "ratio engine / plain peer:   %.2f\n", e / p }'
fi

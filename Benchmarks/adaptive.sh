#!/usr/bin/env bash
# Adaptive concurrency (issue 15), in one run: the default (adaptive) window against fixed
# settings, each against a fresh simulator, in four settings of the service:
#   far       100 ms away, no limit: defaults against fixed 4x64, 8x128 and 16x256;
#   capacity  100 ms away, a service that processes CAPACITY requests at once for 10 ms each
#             (CAPACITY x 100/s): defaults against fixed 16x256 and a fixed window that keeps
#             half the workers busy (its p99 is the uncontended one);
#   limited   100 ms away, a rate limit of 3,000/s answered with 8001: defaults;
#   loopback  no latency: defaults against --fixed-concurrency (4x64).
# Prints records/s, requests sent per record, p50/p99 latency (the client's report), the window
# at the end and its peak, and client CPU.
#
#   Benchmarks/adaptive.sh [ROWS] [CAPACITY] [SCENARIOS...]   (default 40000 records, 100; all four)
set -euo pipefail
rows=${1:-40000}
capacity=${2:-100}
shift $(($# > 2 ? 2 : $#))
scenarios=("${@:-far capacity limited loopback}")
scenarios=(${scenarios[*]})
cd "$(dirname "$0")/.."
swift build -c release --product batch-tokenize >/dev/null
bin=$(swift build -c release --show-bin-path)/batch-tokenize
work=$(mktemp -d)
sim=
trap '[ -n "$sim" ] && kill $sim 2>/dev/null; rm -rf "$work"' EXIT
python3 scripts/generate-cards.py --rows "$rows" --seed 1 --format csv --out "$work/cards.csv"
export SCX_API_KEY=$(printf bench:key | base64)
template=438ac8afecdd8035a21c126ee1fe6c19
maps=(--map card_number=card_number --map card_exp=card_exp --map card_cvv=card_cvv)

# run NAME SIMULATOR-OPTIONS -- CLIENT-OPTIONS
run() {
  local name=$1; shift
  local simargs=()
  while [ "$1" != "--" ]; do simargs+=("$1"); shift; done
  shift
  rm -f "$work/sim.out"  # (read before the new simulator truncates it, the last one's address was taken)
  "$bin" simulate --port 0 --key "$SCX_API_KEY" "${simargs[@]}" > "$work/sim.out" &
  sim=$!
  until grep -q "listening on" "$work/sim.out" 2>/dev/null; do sleep 0.1; done
  local url
  url=$(sed -n 's/^listening on //p' "$work/sim.out")
  rm -f "$work/out.csv" "$work/out.csv".* "$work/report.json"
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$bin" run --endpoint "$url" --template-ref $template "${maps[@]}" \
    --input "$work/cards.csv" --output "$work/out.csv" --report "$work/report.json" --succeed-with-rejects \
    --progress-interval 3600 "$@" 2> "$work/run.err" > /dev/null || { cat "$work/run.err"; exit 1; }
  kill -INT $sim; wait $sim 2>/dev/null || true; sim=
  python3 - "$name" "$work/report.json" "$work/time" "$rows" <<'EOF'
import json, sys
name, report, timing, rows = sys.argv[1], json.load(open(sys.argv[2])), open(sys.argv[3]).read().split(), int(sys.argv[4])
seconds, user, system = float(timing[0]), float(timing[1]), float(timing[2])
latency = report.get("latencyMilliseconds") or {}
window = report.get("window") or {}
assert report["records"]["done"] + report["records"]["rejected"] + report["records"]["passedThrough"] == rows, report["records"]
print("%-34s %9.0f %9.3f %8.1f %8.1f %7s %6s %9s %8.1f" % (
    name, rows / report["seconds"], report["requests"]["sent"] / rows, latency.get("p50", 0), latency.get("p99", 0),
    window.get("last", ""), window.get("peak", ""), window.get("lastReason", ""), (user + system) * 1e6 / rows))
EOF
}

printf '%-34s %9s %9s %8s %8s %7s %6s %9s %8s\n' run "records/s" "req/rec" "p50 ms" "p99 ms" window peak reason "CPU µs"
for scenario in "${scenarios[@]}"; do
  case $scenario in
  far)
    run "far: defaults (adaptive)" --latency-ms 100 --
    run "far: fixed 4x64" --latency-ms 100 -- --fixed-concurrency
    run "far: fixed 8x128" --latency-ms 100 -- --fixed-concurrency --connections 8 --in-flight 128
    run "far: fixed 16x256" --latency-ms 100 -- --fixed-concurrency --connections 16 --in-flight 256
    ;;
  capacity)
    run "capacity $capacity: defaults" --latency-ms 100 --capacity "$capacity" --processing-ms 10 --
    run "capacity $capacity: fixed 16x256" --latency-ms 100 --capacity "$capacity" --processing-ms 10 -- \
      --fixed-concurrency --connections 16 --in-flight 256
    # Uncontended: a request holds a worker for 10 ms of its 110 ms round trip, so CAPACITY x 11
    # in flight would keep every worker busy; half that keeps half of them busy, and with this
    # many workers nothing waits to speak of (its p99 is the service's own).
    run "capacity $capacity: fixed 4x$((capacity * 11 / 8)) (uncontended)" --latency-ms 100 --capacity "$capacity" --processing-ms 10 -- \
      --fixed-concurrency --connections 4 --in-flight $((capacity * 11 / 8))
    echo "  (capacity: $capacity x 100/s = $((capacity * 100)) requests/s)"
    ;;
  limited)
    run "limited 3000/s (8001): defaults" --latency-ms 100 --rate-limit 3000 --throttle-code 8001 --
    ;;
  loopback)
    run "loopback: defaults (adaptive)" --
    run "loopback: fixed 4x64" -- --fixed-concurrency
    ;;
  esac
done

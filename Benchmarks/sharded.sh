#!/usr/bin/env bash
# Sharded runs: the wall-clock time of 1, 2, 4 and 8 shards over one file, all at once against
# one simulator that answers after 20 ms and throttles above a rate limit, as a partner's service
# does; and what the plan and the merge cost. Each shard count gets a fresh simulator; the job's
# --rate (the whole job's, divided among the shards) stays under the limit.
#
#   Benchmarks/sharded.sh [ROWS] [LIMIT]     (default 1000000 records, 20000 requests/s)
set -euo pipefail
rows=${1:-1000000}
limit=${2:-20000}
rate=$((limit * 95 / 100))
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
now() { date +%s.%N; }
cpu() { awk '{ print $2 + $3 }' "$1"; }  # user + system from a GNU time file

printf '%-7s %12s %12s %14s %16s %12s %s\n' shards "plan s" "run s" "records/s" "client CPU s" "merge s" "simulator"
for shards in 1 2 4 8; do
  rm -f "$work/sim.out"  # (read before the new simulator truncates it, the last one's address was taken)
  "$bin" simulate --port 0 --key "$SCX_API_KEY" --latency-ms 20 --rate-limit "$limit" --throttle-code 8001 > "$work/sim.out" &
  sim=$!
  until grep -q "listening on" "$work/sim.out" 2>/dev/null; do sleep 0.1; done
  url=$(sed -n 's/^listening on //p' "$work/sim.out")
  rm -rf "$work/out" && mkdir "$work/out"
  start=$(now)
  "$bin" plan --input "$work/cards.csv" --shards "$shards" --out "$work/plan.json" > /dev/null
  planned=$(now)
  pids=()
  for index in $(seq 0 $((shards - 1))); do
    /usr/bin/time -f "%e %U %S %M" -o "$work/time-$index" "$bin" run --endpoint "$url" --template-ref $template "${maps[@]}" \
      --plan "$work/plan.json" --shard "$index" --output "$work/out/cards.csv" --rate "$rate" --succeed-with-rejects \
      --progress-interval 3600 2> "$work/run-$index.err" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  ran=$(now)
  "$bin" merge --plan "$work/plan.json" --output "$work/out/cards.csv" --succeed-with-rejects > "$work/merge.out"
  merged=$(now)
  grep -q "the books balance: $rows records" "$work/merge.out" || { cat "$work/merge.out"; exit 1; }
  kill -INT $sim; wait $sim 2>/dev/null || true; sim=
  throttled=$(grep -Eo '8001: [0-9]+' "$work/sim.out" || echo "8001: 0")
  client=0
  for index in $(seq 0 $((shards - 1))); do client=$(awk -v a="$client" -v b="$(cpu "$work/time-$index")" 'BEGIN { print a + b }'); done
  awk -v n="$shards" -v p="$(awk -v a="$start" -v b="$planned" 'BEGIN { print b - a }')" -v r="$(awk -v a="$planned" -v b="$ran" 'BEGIN { print b - a }')" \
      -v m="$(awk -v a="$ran" -v b="$merged" 'BEGIN { print b - a }')" -v rows="$rows" -v c="$client" -v t="$throttled" \
      'BEGIN { printf "%-7d %12.2f %12.2f %14.0f %16.2f %12.2f throttled (%s)\n", n, p, r, rows / r, c, m, t }'
done
echo "(latency 20 ms, limit $limit requests/s, the job's --rate $rate; the defaults per shard: an adaptive window from 4 connections x 64 in flight)"

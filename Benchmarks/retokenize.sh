#!/usr/bin/env bash
# Retokenize: moving a tokenized file to a new template in one pass, beside the tokenize run
# that made the file, each against a fresh simulator serving two templates of the same fields:
#   - tokenize    cards.csv -> tokenized.csv (template old)
#   - retokenize  tokenized.csv -> moved.csv (--from-template old --template-ref new: a
#                 detokenize and a tokenize per record)
# Prints records/s, requests sent per record, client CPU µs per record and peak RSS of each, and
# checks that every record was moved (the retokenize run's books balance with every record done).
#
#   Benchmarks/retokenize.sh [ROWS] [--limit REQUESTS_PER_S]
# With --limit, the simulator answers at most that many requests a second (8001 beyond it).
set -euo pipefail
rows=1000000
limit=
while [ $# -gt 0 ]; do
  case $1 in
    --limit) limit=$2; shift ;;
    *) rows=$1 ;;
  esac
  shift
done
cd "$(dirname "$0")/.."
swift build -c release --product batch-tokenize >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
sim=
trap '[ -n "$sim" ] && kill $sim 2>/dev/null; rm -rf "$work"' EXIT
python3 scripts/generate-cards.py --rows "$rows" --seed 1 --format csv --out "$work/cards.csv"
fields='[{"name": "card_number", "kind": "cardNumber"}, {"name": "card_exp", "kind": "digits"}, {"name": "card_cvv", "kind": "digits"}]'
cat > "$work/templates.json" <<JSON
{"templates": [{"templateRef": "old", "name": "old", "fields": $fields}, {"templateRef": "new", "name": "new", "fields": $fields}]}
JSON
key=$(printf bench:key | base64)
maps=(--map card_number=card_number --map card_exp=card_exp --map card_cvv=card_cvv)
simulate=(simulate --port 0 --key "$key" --templates "$work/templates.json")
[ -n "$limit" ] && simulate+=(--rate-limit "$limit" --throttle-code 8001)

declare -A rate cpu rss sent wall done
run() {  # variant, arguments...
  local variant=$1; shift
  rm -f "$work/sim.out"  # (read before the new simulator truncates it, the last one's address was taken)
  "$bin/batch-tokenize" "${simulate[@]}" > "$work/sim.out" &
  sim=$!
  until grep -q "listening on" "$work/sim.out" 2>/dev/null; do sleep 0.1; done
  local url; url=$(sed -n 's/^listening on //p' "$work/sim.out")
  local status=0
  (cd "$work" && SCX_API_KEY="$key" SWIFT_BACKTRACE=enable=no /usr/bin/time -f "%e %U %S %M" -o "$work/time" \
    "$bin/batch-tokenize" "$@" --endpoint "$url" "${maps[@]}" --progress-interval 3600 2> "$work/run-$variant.out") || status=$?
  kill -INT $sim; wait $sim 2>/dev/null || true; sim=
  [ "$status" = 0 ] || [ "$status" = 2 ] || { cat "$work/run-$variant.out"; echo "$variant: exit status $status" >&2; exit 1; }
  grep -q "the books balance: read $rows " "$work/run-$variant.out" || { cat "$work/run-$variant.out"; echo "$variant: the books do not balance" >&2; exit 1; }
  done[$variant]=$(sed -n 's/^done: \([0-9]*\).*/\1/p' "$work/run-$variant.out")
  read -r elapsed user system peak < <(tail -n 1 "$work/time")
  wall[$variant]=$elapsed
  rate[$variant]=$(awk -v n="$rows" -v e="$elapsed" 'BEGIN { printf "%.0f", n / e }')
  cpu[$variant]=$(awk -v n="$rows" -v u="$user" -v s="$system" 'BEGIN { printf "%.2f", (u + s) / n * 1e6 }')
  rss[$variant]=$(awk -v m="$peak" 'BEGIN { printf "%.1f", m / 1024 }')
  sent[$variant]=$(sed -n 's/^requests sent: \([0-9]*\).*/\1/p' "$work/run-$variant.out")
}

run tokenize run --template-ref old --input cards.csv --output tokenized.csv
# (The generator's bad rows are the tokenize run's rejects: the tokenized file holds the others.)
all=$rows
rows=${done[tokenize]}
run retokenize retokenize --from-template old --template-ref new --input tokenized.csv --output moved.csv
[ "${done[retokenize]}" = "$rows" ] || { cat "$work/run-retokenize.out"; echo "retokenize: ${done[retokenize]} of $rows records moved" >&2; exit 1; }
echo
declare -A read=([tokenize]=$all [retokenize]=$rows)
for variant in tokenize retokenize; do
  awk -v v="$variant" -v r="${rate[$variant]}" -v s="${sent[$variant]}" -v n="${read[$variant]}" -v c="${cpu[$variant]}" -v m="${rss[$variant]}" \
    -v w="${wall[$variant]}" -v l="$limit" 'BEGIN {
    printf "%-10s %9d records/s%s %5.3f requests/record %7.2f µs CPU/record %6.1f MiB peak RSS; wall %.1f s\n",
      v, r, (l == "" ? "" : sprintf(" (%.1f%% of the %d/s limit in requests)", s / w / l * 100, l)), s / n, c, m, w }'
done

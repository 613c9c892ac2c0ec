#!/usr/bin/env bash
# Dedup: what --dedup saves on a card store whose cards repeat, side by side in one run, each
# against a fresh simulator (--deterministic-ids):
#   - plain   cards.csv -> out-plain.csv (every record sent)
#   - dedup   cards.csv -> out-dedup.csv (--dedup: each distinct record's values sent once)
# The input is scripts/generate-cards.py --repeat SHARE (default 0.4: about 40% of the records
# repeat an earlier record's card, number, expiry and CVV alike, drawn from the last 100,000
# distinct cards). Prints records/s, requests sent per record, client CPU µs per record and
# peak RSS, dedup's wall time over plain's, and checks that the token columns of both outputs
# are the same and that every repeat has its first record's bfid.
#
#   Benchmarks/dedup.sh [ROWS] [--repeat SHARE] [--limit REQUESTS_PER_S]
# With --limit, the simulator answers at most that many requests a second (8001 beyond it), as a
# partner's rate limit does: the wall time is then what dedup saves. With --repeat 0, every
# record is distinct: the memory a job of that many distinct values takes.
set -euo pipefail
rows=1000000
repeat=0.4
limit=
while [ $# -gt 0 ]; do
  case $1 in
    --repeat) repeat=$2; shift ;;
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
python3 scripts/generate-cards.py --rows "$rows" --seed 1 --repeat "$repeat" --format csv --out "$work/cards.csv"
key=$(printf bench:key | base64)
template=438ac8afecdd8035a21c126ee1fe6c19
maps=(--map card_number=card_number --map card_exp=card_exp --map card_cvv=card_cvv)
simulate=(simulate --port 0 --key "$key" --deterministic-ids)
[ -n "$limit" ] && simulate+=(--rate-limit "$limit" --throttle-code 8001)

declare -A wall rate cpu rss sent
run() {  # variant
  local variant=$1 extra=()
  [ "$variant" = dedup ] && extra=(--dedup)
  rm -f "$work/sim.out"  # (read before the new simulator truncates it, the last one's address was taken)
  "$bin/batch-tokenize" "${simulate[@]}" > "$work/sim.out" &
  sim=$!
  until grep -q "listening on" "$work/sim.out" 2>/dev/null; do sleep 0.1; done
  local url; url=$(sed -n 's/^listening on //p' "$work/sim.out")
  local status=0
  (cd "$work" && SCX_API_KEY="$key" SWIFT_BACKTRACE=enable=no /usr/bin/time -f "%e %U %S %M" -o "$work/time" \
    "$bin/batch-tokenize" run --endpoint "$url" --template-ref $template --input cards.csv --output "out-$variant.csv" "${maps[@]}" "${extra[@]}" \
    --progress-interval 3600 2> "$work/run-$variant.out") || status=$?
  kill -INT $sim; wait $sim 2>/dev/null || true; sim=
  [ "$status" = 0 ] || [ "$status" = 2 ] || { cat "$work/run-$variant.out"; echo "$variant: exit status $status" >&2; exit 1; }
  grep -q "the books balance: read $rows" "$work/run-$variant.out" || { cat "$work/run-$variant.out"; echo "$variant: the books do not balance" >&2; exit 1; }
  read -r elapsed user system peak < <(tail -n 1 "$work/time")
  wall[$variant]=$elapsed
  rate[$variant]=$(awk -v n="$rows" -v e="$elapsed" 'BEGIN { printf "%.0f", n / e }')
  cpu[$variant]=$(awk -v n="$rows" -v u="$user" -v s="$system" 'BEGIN { printf "%.2f", (u + s) / n * 1e6 }')
  rss[$variant]=$(awk -v m="$peak" 'BEGIN { printf "%.1f", m / 1024 }')
  sent[$variant]=$(sed -n 's/^requests sent: \([0-9]*\).*/\1/p' "$work/run-$variant.out")
}

for variant in plain dedup; do run $variant; done
echo
for variant in plain dedup; do
  awk -v v="$variant" -v r="${rate[$variant]}" -v s="${sent[$variant]}" -v n="$rows" -v c="${cpu[$variant]}" -v m="${rss[$variant]}" \
    -v w="${wall[$variant]}" -v bw="${wall[plain]}" -v l="$limit" 'BEGIN {
    printf "%-6s %9d records/s%s %5.3f requests/record %7.2f µs CPU/record %6.1f MiB peak RSS; wall %.1f s (%.2f× plain)\n",
      v, r, (l == "" ? "" : sprintf(" (%.1f%% of the %d/s limit in requests)", s / w / l * 100, l)), s / n, c, m, w, w / bw }'
done
grep '^repeats not sent' "$work/run-dedup.out" || true
# The same tokens (columns 2-4), and every repeat with its first record's bfid (column 7).
python3 - "$work/out-plain.csv" "$work/out-dedup.csv" <<'PY'
import csv, sys
plain, dedup = (csv.reader(open(path, newline="")) for path in sys.argv[1:3])
first, records, differ, bfids = {}, 0, 0, 0
for a, b in zip(plain, dedup):
    records += 1
    if a[1:4] != b[1:4]: differ += 1
    tokens = tuple(b[1:4])
    if b[6] and first.setdefault(tokens, b[6]) != b[6]: bfids += 1
print(f"tokens: {records - differ} of {records} rows the same in both outputs; repeats with another bfid than their first record's: {bfids}")
sys.exit(1 if differ or bfids else 0)
PY

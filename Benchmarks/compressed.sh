#!/usr/bin/env bash
# Compressed: what a gzip input, a gzip output and a piped input (`--input -`) cost over the
# plain file-to-file run, side by side in one run, each against a fresh simulator
# (--deterministic-ids, so that the outputs can be compared byte for byte):
#   - plain     cards.csv            -> out.csv
#   - gzip-in   cards.csv.gz         -> out.csv
#   - gzip-out  cards.csv            -> out.csv.gz (libdeflate, the default where it is found)
#   - gzip-zlib cards.csv            -> out.csv.gz (zlib: BATCH_TOKENIZE_DEFLATE=zlib)
#   - piped     cat cards.csv | --input - -> out.csv
# Each variant runs ROUNDS times, interleaved; the medians are compared. Prints records/s,
# client CPU µs per record and peak RSS, the difference over plain, the gzip output's size
# against one `gzip -6` member of the plain output, and checks that every output is the plain
# one (zcat for the gzip output).
#
#   Benchmarks/compressed.sh [ROWS] [--rounds N] [--limit REQUESTS_PER_S] [--variants "plain gzip-out ..."]
# With --limit, the simulator answers at most that many requests a second (8001 beyond it): the
# records/s at the limit is the figure that matters then.
set -euo pipefail
rows=1000000
rounds=2
limit=
variants=(plain gzip-in gzip-out gzip-zlib piped)
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift ;;
    --limit) limit=$2; shift ;;
    --variants) read -r -a variants <<< "$2"; shift ;;
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
gzip -6 -c "$work/cards.csv" > "$work/cards.csv.gz"
key=$(printf bench:key | base64)
template=438ac8afecdd8035a21c126ee1fe6c19
maps=(--map card_number=card_number --map card_exp=card_exp --map card_cvv=card_cvv)
simulate=(simulate --port 0 --key "$key" --deterministic-ids)
[ -n "$limit" ] && simulate+=(--rate-limit "$limit" --throttle-code 8001)

declare -A cpus rates rss
run() {  # variant, round
  local variant=$1 input=$work/cards.csv output=$work/out-$1.csv
  case $variant in
    gzip-in) input=$work/cards.csv.gz ;;
    gzip-out | gzip-zlib) output=$work/out-$1.csv.gz ;;
  esac
  local deflater=libdeflate
  [ "$variant" = gzip-zlib ] && deflater=zlib
  rm -f "$work/sim.out"  # (read before the new simulator truncates it, the last one's address was taken)
  "$bin/batch-tokenize" "${simulate[@]}" > "$work/sim.out" &
  sim=$!
  until grep -q "listening on" "$work/sim.out" 2>/dev/null; do sleep 0.1; done
  local url; url=$(sed -n 's/^listening on //p' "$work/sim.out")
  rm -f "$output" "$output".*
  local status=0
  local command=("$bin/batch-tokenize" run --endpoint "$url" --template-ref $template --output "$output" "${maps[@]}" --progress-interval 3600)
  if [ "$variant" = piped ]; then
    cat "$input" | SCX_API_KEY="$key" /usr/bin/time -f "%e %U %S %M" -o "$work/time" "${command[@]}" --input - --input-name cards.csv \
      2> "$work/run.out" || status=$?
  else
    SCX_API_KEY="$key" BATCH_TOKENIZE_DEFLATE=$deflater /usr/bin/time -f "%e %U %S %M" -o "$work/time" "${command[@]}" --input "$input" \
      2> "$work/run.out" || status=$?
  fi
  kill -INT $sim; wait $sim 2>/dev/null || true; sim=
  [ "$status" = 0 ] || [ "$status" = 2 ] || { cat "$work/run.out"; echo "$variant: exit status $status" >&2; exit 1; }
  grep -q "the books balance: read $rows" "$work/run.out" || { cat "$work/run.out"; echo "$variant: the books do not balance" >&2; exit 1; }
  read -r elapsed user system peak < <(tail -n 1 "$work/time")
  local cpu rate
  cpu=$(awk -v n="$rows" -v u="$user" -v s="$system" 'BEGIN { printf "%.2f", (u + s) / n * 1e6 }')
  rate=$(awk -v n="$rows" -v e="$elapsed" 'BEGIN { printf "%.0f", n / e }')
  cpus[$variant]+="$cpu "; rates[$variant]+="$rate "
  rss[$variant]=$(awk -v m="$peak" -v old="${rss[$variant]:-0}" 'BEGIN { printf "%.1f", (m / 1024 > old) ? m / 1024 : old }')
  printf "%-9s round %d: %9d records/s %7.2f µs CPU/record %7.1f MiB peak RSS\n" "$variant" "$2" "$rate" "$cpu" "$(awk -v m="$peak" 'BEGIN { print m / 1024 }')"
}

median() { printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for round in $(seq 1 "$rounds"); do
  for variant in "${variants[@]}"; do run "$variant" "$round"; done
done

echo
base=$(median "${cpus[plain]}")
for variant in "${variants[@]}"; do
  cpu=$(median "${cpus[$variant]}"); rate=$(median "${rates[$variant]}")
  awk -v v="$variant" -v c="$cpu" -v b="$base" -v r="$rate" -v m="${rss[$variant]}" -v l="$limit" 'BEGIN {
    printf "%-9s median %9.0f records/s%s %7.2f µs CPU/record (%+.2f over plain) %7.1f MiB peak RSS\n",
      v, r, (l == "" ? "" : sprintf(" (%.1f%% of the %d/s limit)", r / l * 100, l)), c, c - b, m }'
done

plain=$work/out-plain.csv
# Another input is another job (its own references, so the simulator's bfids differ): the lines
# are compared without their last column, the bfid.
has() { [[ " ${variants[*]} " == *" $1 "* ]]; }
for variant in gzip-in piped; do
  has $variant || continue
  cmp -s <(sed 's/,[^,]*$//' "$plain") <(sed 's/,[^,]*$//' "$work/out-$variant.csv") \
    || { echo "$variant: output differs from plain (bfids aside)" >&2; exit 1; }
done
single=$(gzip -6 -c "$plain" | wc -c)
for variant in gzip-out gzip-zlib; do
  has $variant || continue
  zcat "$work/out-$variant.csv.gz" | cmp -s "$plain" - || { echo "$variant: zcat differs from plain" >&2; exit 1; }
  ours=$(stat -c %s "$work/out-$variant.csv.gz")
  awk -v v="$variant" -v o="$ours" -v s="$single" -v p="$(stat -c %s "$plain")" 'BEGIN {
    printf "%-9s output: %d bytes (plain %d), one gzip -6 member %d: %+.1f%% (target within 10%%)\n", v, o, p, s, (o / s - 1) * 100 }'
done
echo "every output equals the plain run's (the gzip one through zcat, byte for byte; the others but for their bfids)"

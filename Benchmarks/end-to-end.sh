#!/usr/bin/env bash
# EndToEnd: `batch-tokenize run` and the Python peer (../shared/peers/python_batch_tokenize.py)
# tokenize the same generated file against the same simulator, running in its own process, one
# after the other in one run. Prints records/s, client CPU µs per record (user + system of the
# client process), peak RSS and, for batch-tokenize, latency p50/p99.
#
#   Benchmarks/end-to-end.sh [ROWS] [--no-peer]
set -euo pipefail
rows=${1:-1000000}
peer=yes
[ "${2:-}" = "--no-peer" ] && peer=no
cd "$(dirname "$0")/.."
swift build -c release --product batch-tokenize >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
trap 'kill -INT $sim 2>/dev/null || true; rm -rf "$work"' EXIT
python3 scripts/generate-cards.py --rows "$rows" --seed 1 --format csv --out "$work/cards.csv"
if [ $peer = yes ] && ! [ -x .build-venv/peer/bin/python ]; then
  python3 -m venv .build-venv/peer && .build-venv/peer/bin/pip install --quiet 'websockets>=14'
fi
key=$(printf bench:key | base64)
"$bin/batch-tokenize" simulate --port 0 --key "$key" > "$work/sim.out" &
sim=$!
until grep -q "listening on" "$work/sim.out" 2>/dev/null; do sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/sim.out")
template=438ac8afecdd8035a21c126ee1fe6c19
maps=(--map card_number=card_number --map card_exp=card_exp --map card_cvv=card_cvv)

report() {  # name, time file, latency text
  # The last line: GNU time puts "Command exited with non-zero status N" before it.
  read -r elapsed user system rss < <(tail -n 1 "$2")
  awk -v n="$rows" -v e="$elapsed" -v u="$user" -v s="$system" -v m="$rss" -v name="$1" -v lat="$3" 'BEGIN {
    printf "%-16s %9d records %8.2f s %9.0f records/s %7.1f µs CPU/record %8.1f MiB peak RSS  %s\n",
      name, n, e, n / e, (u + s) / n * 1e6, m / 1024, lat }'
}

# The summary goes to stderr; exit status 2 says that some records were rejected (expected here).
status=0
SCX_API_KEY="$key" /usr/bin/time -f "%e %U %S %M" -o "$work/swift.time" \
  "$bin/batch-tokenize" run --endpoint "$url" --template-ref $template --input "$work/cards.csv" \
  --output "$work/swift.csv" "${maps[@]}" --progress-interval 3600 2> "$work/swift.out" || status=$?
[ "$status" = 0 ] || [ "$status" = 2 ] || { cat "$work/swift.out"; echo "batch-tokenize: exit status $status" >&2; exit 1; }
# The generated file has dirty rows (spaces in card numbers, empty ones), as a legacy export does:
# they are rejected by the service (1006) or the mapping, and the books must balance.
grep -q "the books balance: read $rows" "$work/swift.out" || { cat "$work/swift.out"; echo "batch-tokenize: the books do not balance" >&2; exit 1; }
grep -E "^(done|rejected):" "$work/swift.out" | tr '\n' ' '; echo
latency=$(sed -n 's/^latency: //p' "$work/swift.out" | sed 's/, p90 [^,]*//; s/, max.*//')
report batch-tokenize "$work/swift.time" "latency $latency"

if [ $peer = yes ]; then
  SCX_API_KEY="$key" /usr/bin/time -f "%e %U %S %M" -o "$work/peer.time" \
    .build-venv/peer/bin/python ../shared/peers/python_batch_tokenize.py --endpoint "$url" --template-ref $template \
    --input "$work/cards.csv" --output "$work/peer.csv" "${maps[@]}" > "$work/peer.out"
  report "python peer" "$work/peer.time" "latency not measured by the peer"
  # The peer writes every record to its output, failed ones included; batch-tokenize writes
  # failed ones to the rejects file instead.
  echo "output lines: batch-tokenize $(wc -l < "$work/swift.csv") + rejects $(($(wc -l < "$work/swift.csv.rejects.csv") - 1)), python peer $(wc -l < "$work/peer.csv")"
fi

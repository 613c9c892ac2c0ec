#!/usr/bin/env bash
# Throttled: `batch-tokenize run` against a service that throttles with 8001 below the rate the
# job asks for, 20 ms away, on a server we did not write (Python websockets 15, the test
# fixture) and on our simulator (`--throttle-code 8001`), one after the other in one run.
# Prints records/s against the limit, requests sent per record, latency p50/p99 and client CPU.
#
#   Benchmarks/throttled.sh [ROWS] [LIMIT]     (defaults: 40000 records, 2000 requests/s)
set -euo pipefail
rows=${1:-40000}
limit=${2:-2000}
ask=$((limit * 3 / 2))
cd "$(dirname "$0")/.."
swift build -c release --product batch-tokenize >/dev/null
bin=$(swift build -c release --show-bin-path)
python=$(scripts/strict-server-venv.sh)
work=$(mktemp -d)
server=""
trap 'kill -INT $server 2>/dev/null || true; rm -rf "$work"' EXIT
python3 scripts/generate-cards.py --rows "$rows" --seed 1 --format csv --out "$work/cards.csv"
key=$(printf bench:key | base64)
template=438ac8afecdd8035a21c126ee1fe6c19
maps=(--map card_number=card_number:digits,luhn,skip-empty --map card_exp=card_exp --map card_cvv=card_cvv)

one() {  # name, server command...
  local name=$1; shift
  "$@" > "$work/server.out" 2>/dev/null &
  server=$!
  until grep -q "listening on" "$work/server.out" 2>/dev/null; do sleep 0.1; done
  local url; url=$(sed -n 's/^listening on //p' "$work/server.out")
  local status=0
  rm -f "$work/out.csv"*
  SCX_API_KEY="$key" /usr/bin/time -f "%e %U %S %M" -o "$work/time" \
    "$bin/batch-tokenize" run --endpoint "$url" --template-ref $template --input "$work/cards.csv" --output "$work/out.csv" \
    "${maps[@]}" --rate "$ask" --progress-interval 3600 2> "$work/run.out" || status=$?
  kill -INT $server; wait $server 2>/dev/null || true
  [ "$status" = 0 ] || [ "$status" = 2 ] || { cat "$work/run.out"; echo "$name: exit status $status" >&2; exit 1; }
  grep -q "the books balance: read $rows" "$work/run.out" || { cat "$work/run.out"; exit 1; }
  local sent; sent=$(sed -n 's/^requests sent: \([0-9]*\).*/\1/p' "$work/run.out")
  local transient; transient=$(grep -c ',transient' "$work/out.csv.rejects.csv" || true)
  local permanent8001; permanent8001=$(grep -c ',8001,' "$work/out.csv.rejects.csv" || true)
  local latency; latency=$(sed -n 's/^latency: //p' "$work/run.out" | sed 's/, p90 [^,]*//; s/, max.*//')
  read -r elapsed user system rss < <(tail -n 1 "$work/time")
  awk -v n="$rows" -v e="$elapsed" -v u="$user" -v s="$system" -v m="$rss" -v name="$name" -v lat="$latency" \
      -v sent="$sent" -v limit="$limit" -v t="$transient" -v p="$permanent8001" 'BEGIN {
    printf "%-22s %6d records %7.2f s %7.0f records/s (%5.1f%% of the %d/s limit) %5.3f requests/record  %s  %6.1f µs CPU/record %6.1f MiB  8001 rejects %d, transient %d\n",
      name, n, e, n / e, n / e / limit * 100, limit, sent / n, lat, (u + s) / n * 1e6, m / 1024, p, t }'
  grep -E "^(done|rejected|transient answers)" "$work/run.out" | sed 's/^/    /'
}

one "websockets 15 fixture" "$python" Tests/Fixtures/websockets-server/scx_websockets_server.py --key "$key" \
  --latency-ms 20 --rate-limit "$limit"
one "simulator (8001)" "$bin/batch-tokenize" simulate --port 0 --key "$key" --latency-ms 20 --rate-limit "$limit" --throttle-code 8001

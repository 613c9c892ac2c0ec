#!/usr/bin/env bash
# PostgreSQL: what a table costs over a file, side by side in one run, each against a fresh
# simulator (--deterministic-ids), on a PostgreSQL 15 server of the script's own (initdb into a
# temporary folder; as the postgres user when run as root; fsync on, as a real one):
#   - file      cards.csv -> out.csv (the file-to-file run, the baseline)
#   - new-table table cards -> a new table cards_tokens
#   - in-place  table cards_inplace (a copy of cards, with a bfid column) -> itself
# The rows are the CSV benchmark's (scripts/generate-cards.py), loaded with \copy. Prints
# records/s, the client's CPU µs per record and peak RSS, the ratios to the file run, and the
# database's own CPU per record (the postmaster's, its backends' and its background processes':
# /proc, utime + stime), then checks that both tables hold as many tokenized rows as
# the file.
#
#   Benchmarks/postgres.sh [ROWS] [--limit REQUESTS_PER_S] [--rounds N]
# With --rounds N, the three runs go N times in turn (file, new table, in place, file, ...; the
# tables made afresh before each round) and the medians are printed: on a shared machine one
# run's neighbours can slow any one variant by a third.
set -euo pipefail
rows=1000000
limit=
rounds=1
while [ $# -gt 0 ]; do
  case $1 in
    --limit) limit=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    *) rows=$1 ;;
  esac
  shift
done
cd "$(dirname "$0")/.."
swift build -c release --product batch-tokenize >/dev/null
bin=$(swift build -c release --show-bin-path)
pgbin=/usr/lib/postgresql/15/bin
work=$(mktemp -d)
chmod 755 "$work"
sim=
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  [ -n "$sim" ] && kill $sim 2>/dev/null
  as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The server: a password for TCP, on a free port.
mkdir "$work/pg"
echo bench-password > "$work/pg/pwfile"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$work/pg"
as_pg "$pgbin/initdb" -D "$work/pg/data" -U bench --pwfile "$work/pg/pwfile" --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w -o "-p $port -h 127.0.0.1 -k $work/pg -c shared_buffers=256MB" start >/dev/null
export PGPASSWORD=bench-password
db="postgres://bench@127.0.0.1:$port/postgres"
postmaster=$(head -1 "$work/pg/data/postmaster.pid")
dbcpu() {  # the server's CPU, in clock ticks: the postmaster's, its reaped backends', and its
  # background processes' (the WAL writer, the checkpointer: what a run's writes cost them too)
  # (A backend's CPU counts once the postmaster has reaped it: wait until the run's are gone.
  # Read at once, a backend still exiting went uncounted: in place, 0.3 s of its 3 s.)
  while [ -n "$(ps --ppid "$postmaster" -o args= | grep '^postgres: bench ' || true)" ]; do sleep 0.05; done
  { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$postmaster/stat"
    for child in $(ps --ppid "$postmaster" -o pid=); do awk '{ print $14 + $15 }' "/proc/$child/stat" 2>/dev/null || true; done
  } | awk '{ t += $1 } END { print t }'
}

python3 scripts/generate-cards.py --rows "$rows" --seed 1 --format csv --out "$work/cards.csv"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
CREATE TABLE cards (id text PRIMARY KEY, card_number text, card_exp text, card_cvv text, name text, notes text);
\copy cards FROM '$work/cards.csv' CSV HEADER
SQL
fresh() {  # the destination tables as a round starts: no new table, an untokenized copy, no progress
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS cards_tokens, cards_inplace, batch_tokenize_progress;
CREATE TABLE cards_inplace (LIKE cards INCLUDING ALL, bfid text);
INSERT INTO cards_inplace SELECT *, NULL FROM cards;
VACUUM ANALYZE;
CHECKPOINT;
SQL
  rm -f "$work"/*.sqlite* "$work"/*.rejects.csv "$work/out.csv"
}

key=$(printf bench:key | base64)
template=438ac8afecdd8035a21c126ee1fe6c19
maps=(--map card_number=card_number --map card_exp=card_exp --map card_cvv=card_cvv)
simulate=(simulate --port 0 --key "$key" --deterministic-ids)
[ -n "$limit" ] && simulate+=(--rate-limit "$limit" --throttle-code 8001)
ticks=$(getconf CLK_TCK)

declare -A cpu rate rss dbus done
declare -A cpus rates rsss dbuss
run() {  # variant
  local variant=$1 input output
  case $variant in
    file) input=$work/cards.csv; output=$work/out.csv ;;
    new-table) input="$db?table=cards&key=id"; output="$db?table=cards_tokens" ;;
    in-place) input="$db?table=cards_inplace&key=id"; output="$db?table=cards_inplace" ;;
  esac
  # (The last run's file removed first: read before the new simulator truncated it, its
  # address was taken for the new one's.)
  rm -f "$work/sim.out"
  "$bin/batch-tokenize" "${simulate[@]}" > "$work/sim.out" &
  sim=$!
  until grep -q "listening on" "$work/sim.out" 2>/dev/null; do sleep 0.1; done
  local url; url=$(sed -n 's/^listening on //p' "$work/sim.out")
  local before; before=$(dbcpu)
  local status=0
  (cd "$work" && SCX_API_KEY="$key" SWIFT_BACKTRACE=enable=no /usr/bin/time -f "%e %U %S %M" -o "$work/time" \
    "$bin/batch-tokenize" run --endpoint "$url" --template-ref $template --input "$input" --output "$output" "${maps[@]}" \
    --checkpoint "$work/$variant.sqlite" --rejects "$work/$variant.rejects.csv" --progress-interval 3600 2> "$work/run.out") || status=$?
  local after; after=$(dbcpu)
  kill -INT $sim; wait $sim 2>/dev/null || true; sim=
  [ "$status" = 0 ] || [ "$status" = 2 ] || { cat "$work/run.out"; echo "$variant: exit status $status" >&2; exit 1; }
  grep -q "the books balance: read $rows" "$work/run.out" || { cat "$work/run.out"; echo "$variant: the books do not balance" >&2; exit 1; }
  read -r elapsed user system peak < <(tail -n 1 "$work/time")
  cpu[$variant]=$(awk -v n="$rows" -v u="$user" -v s="$system" 'BEGIN { printf "%.2f", (u + s) / n * 1e6 }')
  rate[$variant]=$(awk -v n="$rows" -v e="$elapsed" 'BEGIN { printf "%.0f", n / e }')
  done[$variant]=$(awk -F': ' '/^done:/ { print $2 }' "$work/run.out")
  rss[$variant]=$(awk -v m="$peak" 'BEGIN { printf "%.1f", m / 1024 }')
  dbus[$variant]=$(awk -v n="$rows" -v d="$((after - before))" -v t="$ticks" 'BEGIN { printf "%.2f", d / t / n * 1e6 }')
}

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
for round in $(seq "$rounds"); do
  fresh
  for variant in file new-table in-place; do
    run $variant
    cpus[$variant]+="${cpu[$variant]} "; rates[$variant]+="${rate[$variant]} "; rsss[$variant]+="${rss[$variant]} "; dbuss[$variant]+="${dbus[$variant]} "
  done
  [ "$rounds" = 1 ] || echo "round $round: file ${rate[file]}, new table ${rate[new-table]}, in place ${rate[in-place]} records/s"
done
for variant in file new-table in-place; do
  cpu[$variant]=$(echo "${cpus[$variant]}" | median); rate[$variant]=$(echo "${rates[$variant]}" | median)
  rss[$variant]=$(echo "${rsss[$variant]}" | median); dbus[$variant]=$(echo "${dbuss[$variant]}" | median)
done
echo
[ "$rounds" = 1 ] || echo "medians of $rounds rounds:"
for variant in file new-table in-place; do
  awk -v v="$variant" -v r="${rate[$variant]}" -v c="${cpu[$variant]}" -v m="${rss[$variant]}" -v d="${dbus[$variant]}" \
    -v br="${rate[file]}" -v bc="${cpu[file]}" -v l="$limit" 'BEGIN {
    printf "%-9s %9d records/s (%5.1f%% of file)%s %7.2f µs CPU/record (%.2f× file) %6.1f MiB peak RSS; database %6.2f µs CPU/record\n",
      v, r, r / br * 100, (l == "" ? "" : sprintf(" (%.1f%% of the %d/s limit)", r / l * 100, l)), c, c / bc, m, d }'
done
tokenized=$(psql -X -At -d "$db" -c "SELECT (SELECT count(*) FROM cards_tokens WHERE bfid IS NOT NULL) || ' ' || (SELECT count(*) FROM cards_inplace WHERE bfid IS NOT NULL)")
echo "rows with a bfid: new table ${tokenized% *}, in place ${tokenized#* }; records done: file ${done[file]}, new table ${done[new-table]}, in place ${done[in-place]}"
# (A table's empty card numbers pass through, where the file's are rejected: the file run does fewer.)
[ "${tokenized% *}" = "${done[new-table]}" ] && [ "${tokenized#* }" = "${done[in-place]}" ] && [ "${done[new-table]}" = "${done[in-place]}" ] \
  || { echo "the tables do not hold what the runs did" >&2; exit 1; }

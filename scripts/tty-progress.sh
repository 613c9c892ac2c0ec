#!/usr/bin/env bash
# Checks the progress line on a real terminal: runs a job in a tmux pane, captures the pane
# twice while it runs and once after it ends, and asserts what each capture shows:
#   while running: exactly one progress line (done / total, %, rec/s, ETA, in flight, errors,
#                  reconnects), the count growing between captures, and the lines above it
#                  unchanged (the terminal did not scroll);
#   after the end: the summary, no progress line left, exit status 0.
# The captures are printed so that a person can see them too. Needs tmux.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tmux >/dev/null || { echo "tty-progress: tmux is not installed" >&2; exit 1; }

rows="${ROWS:-6000}"
rate="${RATE:-1000}"
swift build --product batch-tokenize >/dev/null
binary="$PWD/.build/debug/batch-tokenize"
work="$(mktemp -d)"
session="bt-progress-$$"
trap 'tmux kill-session -t "$session" 2>/dev/null || true; rm -rf "$work"' EXIT

python3 scripts/generate-cards.py --rows "$rows" --seed 11 --format csv --out "$work/cards.csv"
# A Luhn-failing card number in the data makes some rejects; map without the check so that every
# record is sent and the run ends with exit status 0.
command="$binary run --endpoint local --template-ref 438ac8afecdd8035a21c126ee1fe6c19 --input $work/cards.csv \
--output $work/out.csv --map card_number=card_number:digits,skip-empty --map card_exp=card_exp --map card_cvv=card_cvv \
--rate $rate --burst 50"

tmux new-session -d -s "$session" -x 160 -y 30 "bash --norc --noprofile"
tmux set-option -t "$session" remain-on-exit on >/dev/null
tmux send-keys -t "$session" "clear; echo 'tty-progress: started'; $command; echo \"tty-progress: exit status \$?\"" Enter

capture() { tmux capture-pane -p -t "$session"; }
progress_pattern='^tokenize [0-9,]+ / ~?[0-9,]+  [0-9.]+%  [0-9,]+ rec/s  ETA [0-9:-]+  in flight [0-9]+  errors [0-9]+  reconnects [0-9]+'
fail() { echo "tty-progress: FAIL: $*" >&2; exit 1; }

wait_for() {  # wait_for PATTERN SECONDS
  for _ in $(seq 1 $(( $2 * 10 ))); do
    capture | grep -Eq "$1" && return 0
    sleep 0.1
  done
  return 1
}

wait_for "$progress_pattern" 60 || { capture; fail "no progress line appeared"; }
sleep 1
first="$(capture)"
sleep 2
second="$(capture)"
wait_for 'tty-progress: exit status' 120 || { capture; fail "the job did not end"; }
after="$(capture)"

for name in first second after; do
  echo "----- capture: $name"
  printf '%s\n' "${!name}" | sed '/^$/d'
done
echo "-----"

for name in first second; do
  lines="$(printf '%s\n' "${!name}" | grep -Ec "$progress_pattern" || true)"
  [ "$lines" = 1 ] || fail "capture $name shows $lines progress lines, not 1"
  [ "$(printf '%s\n' "${!name}" | head -1)" = "tty-progress: started" ] || fail "capture $name: the terminal scrolled"
done
done_first="$(printf '%s\n' "$first" | grep -Eo '^tokenize [0-9,]+' | tr -dc 0-9)"
done_second="$(printf '%s\n' "$second" | grep -Eo '^tokenize [0-9,]+' | tr -dc 0-9)"
[ "$done_second" -gt "$done_first" ] || fail "the count did not grow ($done_first, then $done_second)"
printf '%s\n' "$after" | grep -Eq "$progress_pattern" && fail "a progress line is left after the end"
printf '%s\n' "$after" | grep -q "rec/s" && fail "part of a progress line is left after the end"
printf '%s\n' "$after" | grep -q "the books balance: read $rows" || fail "no summary after the end"
printf '%s\n' "$after" | grep -q "tty-progress: exit status 0" || fail "the job did not exit 0"
echo "tty-progress: OK: one progress line while running ($done_first, then $done_second records), summary after, no line left behind"

#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer and AddressSanitizer and runs one:
#   Fuzz/run.sh TARGET SECONDS      (TARGET: FuzzCSVReader, FuzzGzipInput, FuzzNDJSONReader, FuzzResponseDecoder,
#                                    FuzzJobFile, FuzzRejectsRoundTrip, FuzzShardPlan, FuzzShardMerge)
# Crashes are written to Fuzz/artifacts/TARGET/; the corpus grows in Fuzz/work/TARGET/ (not
# committed), seeded from Fuzz/corpus/TARGET/ (committed).
set -euo pipefail
target=$1
seconds=${2:-600}
cd "$(dirname "$0")"
swift build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library --product "$target" >&2
bin=$(swift build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library --show-bin-path)
mkdir -p "work/$target" "artifacts/$target"
export SWIFT_BACKTRACE=enable=no
# One-time allocations of the toolchain's libraries that LeakSanitizer reports at exit (see the file).
export LSAN_OPTIONS="suppressions=$PWD/lsan.supp:print_suppressions=0"
"$bin/$target" "work/$target" "corpus/$target" -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=1024 -timeout=10 \
  -artifact_prefix="artifacts/$target/" -print_final_stats=1

#!/usr/bin/env bash
# Fuzzes the parsers that face attackers (libFuzzer through cargo fuzz), each
# for SECONDS (default 60), and prints how many inputs each one ran.
# Usage: bash fuzz/run.sh [SECONDS]      (not part of CI's time budget)
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
# cargo fuzz passes nightly -Z flags; the stable toolchain takes them so.
export RUSTC_BOOTSTRAP=1
mkdir -p logs
summary=()
for target in $(cargo fuzz list); do
  echo "==> $target for ${secs}s"
  cargo fuzz run "$target" -- -max_total_time="$secs" -print_final_stats=1 >"logs/$target.log" 2>&1 || {
    echo "!! $target found a failing input (see fuzz/logs/$target.log and fuzz/artifacts/$target/)"
    tail -30 "logs/$target.log"
    exit 1
  }
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$target.log" | grep -o '[0-9]*$' | tail -1)
  summary+=("$target: ${runs:-?} executions in ${secs}s, no failure")
done
printf '%s\n' "${summary[@]}"

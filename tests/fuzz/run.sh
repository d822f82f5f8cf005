#!/usr/bin/env bash
# Runs one libFuzzer target for SECONDS on a temporary copy of its seed corpus (the committed corpus is
# never written) and prints one summary line: executions, coverage, new inputs, crashes.
# Usage: run.sh FUZZER_BINARY CORPUS_DIR SECONDS ARTIFACT_DIR
# Exits non-zero when the target crashed (ASan, UBSan, a failed property, a leak or a timeout); the input
# that did it is left in ARTIFACT_DIR and its path printed.
set -uo pipefail
bin=$1 corpus=$2 seconds=$3 artifacts=$4
name=$(basename "$bin"); name=${name%_fuzz}
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$bin" ] || { echo "fuzz $name: no such fuzzer: $bin" >&2; exit 2; }
[ -d "$corpus" ] || { echo "fuzz $name: no seed corpus: $corpus" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/lotse-fuzz-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$artifacts"
cp -R "$corpus/." "$work/corpus/"
args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -max_len=16384
      -artifact_prefix="$artifacts/")
[ -f "$here/dict/$name.dict" ] && args+=(-dict="$here/dict/$name.dict")

log=$artifacts/last-run.log
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} "$bin" "${args[@]}" "$work/corpus" >"$log" 2>&1
rc=$?

stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
cov() { grep -E "^#[0-9]+[[:space:]]+$1" "$log" | sed -n 's/.* cov: \([0-9]*\).*/\1/p' | tail -1; }
execs=$(stat number_of_executed_units) rate=$(stat average_exec_per_sec) new=$(stat new_units_added)
crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
crashes=0; [ $rc -ne 0 ] && crashes=1
printf 'fuzz %-15s %10s execs %7s exec/s  coverage %s -> %s  new inputs %s  crashes %s\n' "$name" "${execs:-?}" \
  "${rate:-?}" "$(cov INITED)" "$(cov DONE)" "${new:-?}" "$crashes"
if [ $rc -ne 0 ]; then
  grep -E 'ERROR: |SUMMARY: |runtime error|property failed|==[0-9]+==' "$log" | head -20
  echo "fuzz $name: FAILED (exit $rc); input: ${crash:-none written}; log: $log"
  [ -n "$crash" ] && echo "  reproduce: $bin $crash"
  exit 1
fi

#!/usr/bin/env bash
# `llamps bench-cluster` end to end on stories260K with small numbers: it starts its own
# registry and contributor processes on loopback, deploys, decodes and prints every figure.
# Checks that the figures are there (not their values) and that no node process is left.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"

"$LLAMPS" bench-cluster --model "$MODEL" --nodes 3 --sessions 3 --tokens 8 --hop-hidden 0 \
  --hop-steps 5 >"$WORK/bench.out" 2>"$WORK/bench.err" ||
  { cat "$WORK/bench.out" "$WORK/bench.err"; fail "bench-cluster failed"; }
cat "$WORK/bench.out"

for figure in "(a) decode, single process" "(a) decode, 3-process chain, 1 session" \
              "(a) distribution efficiency" "(b) chain, 3 concurrent sessions, aggregate" \
              "(b) many-clients ratio" "per-hop added latency" "host process memory"; do
  grep -qF "$figure" "$WORK/bench.out" || fail "no '$figure' in the output"
done
# A number in each figure row, the hop row of the model, and one memory row per host.
[ "$(grep -cE '^\| \(a\).*\| \**[0-9.]+' "$WORK/bench.out")" = 3 ] || fail "figures (a) lack values"
[ "$(grep -cE '^\| \(b\).*\| \**[0-9.]+' "$WORK/bench.out")" = 3 ] || fail "figures (b) lack values"
grep -qE '^\| stories260K \| 64 \| [0-9]+ \| 5 \| [0-9]+' "$WORK/bench.out" || fail "no per-hop row"
[ "$(grep -cE '^\| m-c[0-9] \| \[[0-9]+,[0-9]+\) \| [0-9.]+' "$WORK/bench.out")" = 3 ] || fail "not one memory row per host"
# Every node process it started is gone.
dir=$(sed -n 's/.*(work dir \(.*\))$/\1/p' "$WORK/bench.out")
[ -n "$dir" ] || fail "no work directory in the output"
sleep 0.5
if pgrep -f "$dir/" >/dev/null; then fail "node processes of $dir were left running"; fi
[ ! -e "$dir" ] || fail "work directory $dir was not removed"
echo "bench_cluster_smoke: every figure printed, no process left"

#!/usr/bin/env bash
# `llamps bench-registry` with 200 simulated contributors for 2 s: every figure is printed, the
# heartbeats counted are near what 200 nodes send in the window, routes are answered with
# p99 >= p50 > 0, a plan is made; bad options fail at once with one clear line and exit 2.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"

"$LLAMPS" bench-registry --contributors 200 --seconds 2 --heartbeat-ms 200 --routes-per-s 40 \
  >"$WORK/bench.out" 2>"$WORK/bench.err" || { cat "$WORK/bench.out" "$WORK/bench.err"; fail "bench-registry failed"; }
cat "$WORK/bench.out"
for row in "cpu" "joins" "deployments" "heartbeats" "registry CPU per heartbeat" "registry lag" "routes" \
           "route latency" "registry CPU per route" "plan latency" "process CPU"; do
  grep -qE "^$row +[^ ]" "$WORK/bench.out" || fail "no '$row' row"
done
grep -qE "^cpu .*flags:" "$WORK/bench.out" || fail "the cpu row names no flags"

# The first window is 1 s: 200 nodes every 200 ms send about 1000 heartbeats (a wide factor).
heartbeats=$(sed -nE 's/^heartbeats +([0-9]+) in .*/\1/p' "$WORK/bench.out")
[ "$heartbeats" -ge 250 ] && [ "$heartbeats" -le 4000 ] || fail "$heartbeats heartbeats counted, not about 1000"
grep -qE "^registry CPU per heartbeat +[0-9]+\.[0-9]+ us" "$WORK/bench.out" || fail "no CPU time per heartbeat"
answered=$(sed -nE 's/^routes +([0-9]+) answered, ([0-9]+) failed.*/\1/p' "$WORK/bench.out")
failed=$(sed -nE 's/^routes +([0-9]+) answered, ([0-9]+) failed.*/\2/p' "$WORK/bench.out")
[ "$answered" -gt 0 ] || fail "no route answered"
[ "$failed" = 0 ] || fail "$failed routes failed"
read -r p50 p99 < <(sed -nE 's/^route latency +p50 ([0-9.]+) ms +p99 ([0-9.]+) ms.*/\1 \2/p' "$WORK/bench.out")
python3 -c "import sys; p50, p99 = map(float, sys.argv[1:]); sys.exit(0 if 0 < p50 <= p99 < 10000 else 1)" \
  "$p50" "$p99" || fail "route latency p50 $p50 ms, p99 $p99 ms: not 0 < p50 <= p99"
grep -qE "^plan latency +median [0-9]+\.[0-9] ms .*fewest-servers: [0-9]+ server" "$WORK/bench.out" ||
  fail "no plan made over the 200 servers"

# Bad options: exit 2, one line naming the problem, nothing run.
expect_error() {
  local text=$1; shift
  local got=0
  "$LLAMPS" bench-registry "$@" >"$WORK/bad.out" 2>"$WORK/bad.err" || got=$?
  [ "$got" = 2 ] || fail "llamps bench-registry $* exited $got, not 2"
  grep -qF -- "$text" "$WORK/bad.err" || { cat "$WORK/bad.err"; fail "llamps bench-registry $*: no '$text'"; }
  [ ! -s "$WORK/bad.out" ] || fail "llamps bench-registry $* ran before failing"
}
expect_error "--contributors must be a number or a comma-separated list" --contributors 200,abc
expect_error "--contributors must be a number or a comma-separated list" --contributors 10
expect_error "--seconds must be at least 1" --seconds 0
expect_error "--seconds must be between 1 and 3600" --seconds nan
expect_error "--heartbeat-ms must be at least 10" --heartbeat-ms 5
expect_error "unrecognised option '--bogus'" --bogus
"$LLAMPS" bench-registry --help | grep -qF -- "--routes-per-s" || fail "--help names no --routes-per-s"
echo "bench_registry_smoke: every figure printed and sane; bad options refused at once"

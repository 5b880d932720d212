#!/usr/bin/env bash
# The whole cluster dies in the middle of a generation (kill -9 of the registry and of every
# contributor): the shell must not wait for ever. Its session keeps re-routing for its
# patience (30 s), then the shell names the model in a clear error and exits non-zero.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"

start_registry
for i in 0 1 2; do start_contributor "c$i" 0.004; done
wait_for_servers 3
run_shell_once "deploy $MODEL --sessions 2" | grep -q ": ready" || fail "the deployment did not become ready"

started=$(date +%s)
( set +e # the shell is expected to fail: keep its status
  printf '%s\n' "generate --temperature 0 --steps 2000 --ids Once upon a time" |
    timeout 150 "$LLAMPS" shell --connect 127.0.0.1:$REG_PORT >"$WORK/gen.out" 2>"$WORK/gen.err"
  echo $? >"$WORK/gen.rc" ) &
wait_for_size "$WORK/gen.out" 300
for name in registry c0 c1 c2; do kill -9 "$(node_pid $name)"; done
echo "killed the registry and every contributor at $(stat -c %s "$WORK/gen.out") bytes of output"

for _ in $(seq 1600); do [ -s "$WORK/gen.rc" ] && break; sleep 0.1; done
if [ ! -s "$WORK/gen.rc" ]; then
  cat "$WORK/gen.err" >&2
  fail "the shell did not end within 160 s"
fi
rc=$(cat "$WORK/gen.rc")
elapsed=$(( $(date +%s) - started ))
[ "$rc" != 124 ] || fail "the shell was still waiting after 150 s"
[ "$rc" != 0 ] || { cat "$WORK/gen.err"; fail "the shell exited 0 although its generation was cut off"; }
grep -q "^error: no route for model 'stories260K'" "$WORK/gen.err" ||
  { cat "$WORK/gen.err"; fail "the shell's error does not say that the model has no route"; }
grep -qE '^1( [0-9]+)+$' "$WORK/gen.out" && fail "the shell printed an ids line for a generation cut off"
echo "the shell ended after ${elapsed} s with exit status $rc: $(grep '^error' "$WORK/gen.err" | head -n 1)"

#!/usr/bin/env bash
# A node that hangs with its connections up (SIGSTOP: no exit, no dropped link, so no down
# message reaches the session) in the middle of a long greedy generation. Only the session's
# step deadline (llamps shell --step-timeout) can notice it: the session re-routes through the
# other replica and replays, and the output equals the uninterrupted single-process run.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"

STEPS=1500
PROMPT="Once upon a time"
want=$(reference_ids $STEPS "$PROMPT")

start_registry
for i in 0 1 2 3 4 5; do start_contributor "f$i" 0.0026; done
wait_for_servers 6
start_shell s1 --step-timeout 2 --log-level warn
start_shell watch
shell_send s1 "deploy $MODEL --replicas 2 --sessions 2 --kv-type f32"
wait_for_line "$WORK/s1.out" ": ready" 60
deployment_hosts
shell_send s1 "generate --temperature 0 --steps $STEPS --ids $PROMPT"
wait_for_size "$WORK/s1.out" 800
listed=$(shell_ask watch sessions)
victim=$(echo "$listed" | grep -m1 "tokens  f[0-9]" | grep -oE 'f[0-9]' | head -n 1 || true)
[ -n "$victim" ] || { echo "$listed"; fail "no session route listed"; }
stopped_at=$(date +%s.%N)
kill -STOP "$(node_pid "$victim")"
echo "stopped $victim (on the session's route) at $(stat -c %s "$WORK/s1.out") bytes of output"
stop_shell s1 120
[ "$(shell_ids s1)" = "$want" ] || { cat "$WORK/s1.err"; fail "ids after freezing $victim differ from llamps generate"; }
grep -q "no answer from the chain within 2000 ms" "$WORK/s1.err" ||
  { cat "$WORK/s1.err"; fail "the session did not notice the frozen node by its step deadline"; }
grep -q "recovered .* re-routing and replaying" "$WORK/s1.err" || fail "the session did not recover (no replay logged)"
stop_shell watch
kill -CONT "$(node_pid "$victim")"
echo "output identical after SIGSTOP of $victim; finished $(echo "$(date +%s.%N) - $stopped_at" | bc) s after the stop"

#!/usr/bin/env bash
# A contributor that leaves on purpose (SIGTERM): its blocks are drained — the registry
# routes no new session there — the session in flight finishes undisturbed (no replay),
# then the blocks are released and the deployer loads them on a spare server.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"

STEPS=1500
PROMPT="Once upon a time"
want=$(reference_ids $STEPS "$PROMPT")

start_registry
for i in 0 1 2 3; do start_contributor "c$i" 0.0026 --drain-seconds 60; done
wait_for_servers 4
start_shell s1
shell_send s1 "deploy $MODEL --sessions 2"
wait_for_line "$WORK/s1.out" ": ready" 60
victim=$(run_shell_once deployments | grep -E '^stories260K' | grep -oE 'c[0-9]\[' | tr -d '[' | sed -n 2p)
shell_send s1 "generate --temperature 0 --steps $STEPS --ids $PROMPT"
wait_for_size "$WORK/s1.out" 600
pid_var="PID_$victim"
kill -TERM "${!pid_var}"
wait_for_line "$WORK/$victim.log" "draining" 10
# While the session runs, the registry lists the victim's blocks as draining.
for _ in $(seq 50); do run_shell_once servers | grep -q "^$victim .* draining" && break; sleep 0.1; done
run_shell_once servers | grep -q "^$victim .* draining" || fail "the registry does not show $victim draining"
echo "drain: $victim is draining while a session runs through it"
wait_for_line "$WORK/$victim.log" "drained" 60
grep -q "time ran out" "$WORK/$victim.log" && fail "$victim released its blocks before the session finished"
# The deployer (in the shell) moves the released blocks to the spare server.
for _ in $(seq 100); do
  hosts=$(run_shell_once deployments | grep -E '^stories260K' || true)
  [ -n "$hosts" ] && ! echo "$hosts" | grep -q "$victim\[" && break
  sleep 0.2
done
echo "$hosts" | grep -q "$victim\[" && fail "the deployment still lists $victim after the drain"
echo "after the drain: $hosts"
shell_send s1 "generate --temperature 0 --steps 64 --ids $PROMPT"
stop_shell s1 120
[ "$(shell_ids s1)" = "$want" ] || { cat "$WORK/s1.err"; fail "the session in flight did not finish with the right output"; }
grep -q "recovered .* re-routing and replaying" "$WORK/s1.err" && fail "the session in flight had to replay: it was not drained"
second=$(grep -E '^1( [0-9]+)+$' "$WORK/s1.out" | sed -n 2p)
[ "$second" = "$(reference_ids 64 "$PROMPT")" ] || fail "a session after the drain gave the wrong output"
echo "drain: the session in flight finished undisturbed; the blocks moved off $victim"

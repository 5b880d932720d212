#!/usr/bin/env bash
# The registry process is killed (SIGKILL) in the middle of a generation and started again
# on the same port with its state file: the session, which does not need the registry
# between steps, finishes with the right output; the contributors find the new registry
# and join again through its gate; the deployment is rebuilt from the hosts' heartbeats, and
# new sessions are served.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"

STEPS=1500
PROMPT="Once upon a time"
want=$(reference_ids $STEPS "$PROMPT")
STATE=$WORK/registry.state

start_registry --state-file "$STATE"
for i in 0 1 2; do start_contributor "c$i" 0.0026; done
wait_for_servers 3
start_shell s1
shell_send s1 "deploy $MODEL --sessions 2 --kv-type f32"
wait_for_line "$WORK/s1.out" ": ready" 60
[ -s "$STATE" ] || fail "the registry wrote no state file"
shell_send s1 "generate --temperature 0 --steps $STEPS --ids $PROMPT"
wait_for_size "$WORK/s1.out" 600
kill -9 "$PID_registry"
echo "killed the registry at $(stat -c %s "$WORK/s1.out") bytes of output"
start_node registry2 "$LLAMPS" node --role registry --listen 127.0.0.1:$REG_PORT --heartbeat-ms 300 --state-file "$STATE"
wait_for_line "$WORK/registry2.log" "registry listening"
stop_shell s1 120
[ "$(shell_ids s1)" = "$want" ] || { cat "$WORK/s1.err"; fail "the session did not survive the registry restart"; }
echo "the session in flight finished with the right output"
wait_for_servers 3
for _ in $(seq 100); do
  hosts=$(run_shell_once deployments | grep -E '^stories260K' || true)
  [ "$(echo "$hosts" | grep -oE 'c[0-9]\[' | wc -l)" = 3 ] && break
  sleep 0.2
done
echo "rebuilt: $hosts"
[ "$(echo "$hosts" | grep -oE 'c[0-9]\[' | wc -l)" = 3 ] || fail "the deployment was not rebuilt from the heartbeats"
got=$(run_shell_once "generate --temperature 0 --steps 64 --ids $PROMPT" | grep -E '^1( [0-9]+)+$' || true)
[ "$got" = "$(reference_ids 64 "$PROMPT")" ] || fail "the restarted registry does not serve sessions"
grep -q "found the registry again" "$WORK/c0.log" || fail "c0 did not log finding the registry again"
echo "registry restart: nodes re-joined, deployment rebuilt, new sessions served"

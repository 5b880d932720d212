#!/usr/bin/env bash
# Faults with real processes and SIGKILL, in the middle of long greedy generations.
# Case 1: one replica; the contributor hosting the middle blocks is killed. The deployer
#   loads the lost blocks on a spare server, the session re-routes and replays, and the
#   output equals the uninterrupted single-process run.
# Case 2: --replicas 2 and two sessions; one contributor on a session's route is killed:
#   both sessions finish with the right output and the deployment still serves every block.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"

STEPS=1500
PROMPT1="Once upon a time"
PROMPT2="The little dog"
want1=$(reference_ids $STEPS "$PROMPT1")
want2=$(reference_ids $STEPS "$PROMPT2")

# Every block 0..4 is served by a host other than $1.
check_all_served() {
  local hosts; hosts=$(deployment_hosts)
  for b in 0 1 2 3 4; do
    echo "$hosts" | grep -v "^$1\[" | tr '[]-' '   ' |
      awk -v b=$b '{ last = NF > 2 ? $3 : $2; if (b >= $2 && b <= last) found = 1 } END { exit !found }' ||
      fail "block $b of the deployment is no longer served (hosts: $(echo $hosts))"
  done
}

kill_node() { kill -9 "$(node_pid "$1")"; }

case_one_replica() {
start_registry
for i in 0 1 2 3; do start_contributor "c$i" 0.0026; done
wait_for_servers 4
# The generating shell deploys: its deployer, which repairs, lives as long as the test.
start_shell s1
shell_send s1 "deploy $MODEL --sessions 2 --kv-type f32"
wait_for_line "$WORK/s1.out" ": ready" 60
deployment_hosts
victim=$(deployment_hosts | sed -n 2p | cut -d[ -f1)
shell_send s1 "generate --temperature 0 --steps $STEPS --ids $PROMPT1"
wait_for_size "$WORK/s1.out" 800
kill_node "$victim"
echo "case 1: killed $victim at $(stat -c %s "$WORK/s1.out") bytes of output"
stop_shell s1 120
[ "$(shell_ids s1)" = "$want1" ] || { cat "$WORK/s1.out" "$WORK/s1.err"; fail "case 1: ids after killing $victim differ from llamps generate"; }
grep -q "recovered .* re-routing and replaying" "$WORK/s1.err" || fail "case 1: the session did not recover (no replay logged)"
echo "case 1: output identical after kill -9 of $victim"

}

case_two_replicas() {
for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
PIDS=()
rm -f "$WORK"/*.in
start_registry
for i in 0 1 2 3 4 5; do start_contributor "r$i" 0.0026; done
wait_for_servers 6
start_shell s1
shell_send s1 "deploy $MODEL --replicas 2 --sessions 2 --kv-type f32"
wait_for_line "$WORK/s1.out" ": ready" 60
deployment_hosts
start_shell s2
# A third shell, connected before the generations start, asks for the session list: a
# generation of $STEPS tokens takes about 3 s here, so the ~1 s a fresh shell
# (run_shell_once) needs to connect could let both end before the victim is chosen.
start_shell watch
shell_send s1 "generate --temperature 0 --steps $STEPS --ids $PROMPT1"
shell_send s2 "generate --temperature 0 --steps $STEPS --ids $PROMPT2"
wait_for_size "$WORK/s1.out" 800
wait_for_size "$WORK/s2.out" 400
# A node on the first session's route (the registry's session list names the route).
listed=$(shell_ask watch sessions)
victim=$(echo "$listed" | grep -m1 "tokens  r[0-9]" | grep -oE 'r[0-9]' | head -n 1 || true)
[ -n "$victim" ] || { echo "$listed"; fail "case 2: no session route listed"; }
kill_node "$victim"
echo "case 2: killed $victim (on a session's route)"
stop_shell s1 120
stop_shell s2 120
[ "$(shell_ids s1)" = "$want1" ] || { cat "$WORK/s1.err"; fail "case 2: session 1 lost or wrong after killing $victim"; }
[ "$(shell_ids s2)" = "$want2" ] || { cat "$WORK/s2.err"; fail "case 2: session 2 lost or wrong after killing $victim"; }
stop_shell watch
# The kill must have hit a generation in flight, or this case tested nothing.
cat "$WORK/s1.err" "$WORK/s2.err" | grep -q "recovered .* re-routing and replaying" ||
  fail "case 2: no session recovered: the kill of $victim came after both generations"
check_all_served "$victim"
run_shell_once deployments
echo "case 2: both sessions identical and every block still served after kill -9 of $victim"
}

# LLAMPS_FAULT_CASES picks cases when debugging (default: both).
for c in ${LLAMPS_FAULT_CASES:-one_replica two_replicas}; do "case_$c"; done

#!/usr/bin/env bash
# The owner's work takes every core for longer than cpu-drain-seconds: each contributor says
# it is starved (no new blocks or sessions go there) and offers its hosts' blocks to other
# servers. Here every node is on the starved machine, so no other server may take them: the
# hosts keep serving at their idle priority, nothing is released, and once the owner's work
# ends the deployment answers with the greedy ids of `llamps generate`. A node with
# cpu-drain-seconds = 0 never offers its blocks away.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"

PROMPT="One day"
want=$(reference_ids 24 "$PROMPT")

start_registry
# 2.6 MB each: the model's blocks and their KV budget need two of them at least.
start_contributor c0 0.0026 --cpu-drain-seconds 1
start_contributor c1 0.0026 --cpu-drain-seconds 1
start_contributor c2 0.0026 --cpu-drain-seconds 0
wait_for_servers 3
start_shell s1
shell_send s1 "deploy $MODEL --sessions 2 --kv-type f32"
wait_for_line "$WORK/s1.out" ": ready" 60
echo "deployed on $(deployment_hosts | tr '\n' ' ')"

# The owner: a busy loop per core at normal priority.
owner=()
for _ in $(seq "$(nproc)"); do
  bash -c 'while :; do :; done' &
  owner+=($!)
  PIDS+=($!)
done
# grep -q on the files themselves: in a pipeline, its early exit would fail the writer.
logs=("$WORK"/c0.log "$WORK"/c1.log "$WORK"/c2.log)
for _ in $(seq 300); do
  grep -q "keeps serving here" "${logs[@]}" && break
  sleep 0.1
done
kill "${owner[@]}"
grep -h "has left no core\|keeps serving\|released" "${logs[@]}" || true
grep -q "has left no core for 1 s: offering blocks" "${logs[@]}" || fail "no node offered its blocks while starved"
grep -q "no other server takes blocks .* keeps serving here" "${logs[@]}" || fail "a starved host did not keep serving"
if grep -q "offering blocks" "$WORK/c2.log"; then fail "c2 (cpu-drain-seconds 0) offered its blocks"; fi
if grep -q "released blocks" "${logs[@]}"; then fail "a host was released"; fi

# The owner is gone: the same hosts answer, with the reference ids.
shell_send s1 "generate --temperature 0 --steps 24 --ids $PROMPT"
for _ in $(seq 300); do
  [ -n "$(shell_ids s1)" ] && break
  sleep 0.1
done
got=$(shell_ids s1)
[ "$got" == "$want" ] || { cat "$WORK/s1.out" "$WORK/s1.err"; fail "after starvation: got '$got', want '$want'"; }
stop_shell s1
echo "owner_starved: the starved nodes offered their blocks, kept them when nobody could take them, and served the reference ids"

#!/usr/bin/env bash
# Load: 64 concurrent sessions (driven from one shell process by `load`) against a
# three-host deployment. Every session's greedy ids must equal single-process
# `llamps generate` for its prompt, and afterwards no KV memory or session is left on any
# host. Then: a client killed mid-generation has its caches freed (the registry sees its
# process go; the hosts' idle timeout, session-idle-seconds, is the fallback), and sessions beyond a full KV budget wait in line and complete.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"

SESSIONS=${LLAMPS_LOAD_SESSIONS:-64}
STEPS=64
printf '%s\n' "Once upon a time" "The little dog" "One day, Tom" "Lily saw a bird" >"$WORK/prompts"
mapfile -t prompts <"$WORK/prompts"
want=()
for p in "${prompts[@]}"; do want+=("$(reference_ids $STEPS "$p")"); done

# Waits until every block host reports no session and no KV bytes.
wait_for_empty_hosts() {
  local seconds=$1
  for _ in $(seq $((seconds * 5))); do
    run_shell_once hosts >"$WORK/hosts.out"
    grep -q "kv_bytes" "$WORK/hosts.out" && ! grep -vq "sessions 0  kv_bytes 0 " "$WORK/hosts.out" && return 0
    sleep 0.2
  done
  cat "$WORK/hosts.out"
  fail "KV memory or sessions left on the hosts after $seconds s"
}

start_registry
# 0.07 GB each: two blocks with KV for 64 full-context sessions fit, three do not, so the
# five blocks take three hosts.
# An idle session is freed after 10 s: long enough for the live check below to see one that
# has finished generating (its shell keeps it open), short enough to see it freed.
for i in 0 1 2; do start_contributor "c$i" 0.07 --session-idle-seconds 10; done
wait_for_servers 3
run_shell_once "deploy $MODEL --sessions $SESSIONS --kv-type f32" deployments | tee "$WORK/deploy.out"
[ "$(grep -E '^stories260K' "$WORK/deploy.out" | grep -oE 'c[0-9]\[' | sort -u | wc -l)" = 3 ] ||
  fail "the deployment does not use three hosts"

# Runs `load` of N sessions with --ids; every session must complete with its prompt's reference ids.
load_and_check() {
  local n=$1 out=$2
  run_shell_once "load --sessions $n --steps $STEPS --temperature 0 --ids --prompts-file $WORK/prompts" >"$out"
  grep '^load:' "$out" || { cat "$out"; fail "load did not finish"; }
  [ "$(grep -c '^session ' "$out")" = "$n" ] || { cat "$out"; fail "not every session completed"; }
  while read -r _ i _ k ids; do
    k=${k%:}
    [ "$ids" = "${want[$k]}" ] || fail "session $i (prompt '${prompts[$k]}') differs from llamps generate"
  done < <(grep '^session ' "$out")
}

# ---- 64 concurrent sessions ----
load_and_check "$SESSIONS" "$WORK/load.out"
wait_for_empty_hosts 10
echo "load: $SESSIONS concurrent sessions identical to llamps generate; hosts hold no KV afterwards"

# ---- a vanished client: its caches are freed (by the registry, or the idle timeout) ----
# A chat keeps its session (and its KV) open between turns: after the first answer it sits
# idle on every host until the shell is killed below.
start_shell s1
shell_send s1 "chat --temperature 0 --steps 200"
shell_send s1 "Once upon a time"
wait_for_size "$WORK/s1.out" 300
# Live figures: the heartbeats carry what the hosts hold now (servers shows KV in use).
for _ in $(seq 50); do run_shell_once servers | grep -qE "1 sessions [0-9.]+ [KM]B KV" && break; sleep 0.1; done
run_shell_once servers | tee "$WORK/servers.out" | grep -qE "1 sessions [0-9.]+ [KM]B KV" ||
  { cat "$WORK/servers.out" "$WORK/s1.out"; fail "servers does not show the live session and its KV bytes"; }
kill -9 "${SHELL_PID[s1]}"
wait_for_empty_hosts 30
echo "vanished: a killed client's session was freed on every host"

# ---- a full KV budget: the sessions beyond it wait in line, then run ----
run_shell_once "undeploy stories260K" "deploy $MODEL --sessions 2 --kv-type f32" | grep -q ": ready" || fail "redeploy with --sessions 2 failed"
load_and_check 8 "$WORK/busy.out"
grep -v '^session [0-9]* prompt' "$WORK/busy.out"
grep -q '^queued: session [0-9]* waits in line, place [0-9]' "$WORK/busy.out" || fail "no session said it waited in line"
grep -qE '^load: 8 sessions, 8 completed, 0 failed, .* [1-9][0-9]* waited in line$' "$WORK/busy.out" ||
  fail "the load summary does not count the sessions that waited"
grep -q "busy" "$WORK/busy.out" && fail "a session was refused as busy instead of waiting"
for n in registry c0 c1 c2; do kill -0 "$(node_pid $n)" || fail "$n died under a full KV budget"; done
wait_for_empty_hosts 15
echo "full: sessions beyond the KV budget waited in line and matched llamps generate"

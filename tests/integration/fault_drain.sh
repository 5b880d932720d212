#!/usr/bin/env bash
# A contributor that leaves on purpose (SIGTERM): its blocks are drained — the registry
# routes no new session there — and moved *before* they are released. The deployer loads
# them on the spare server while sessions in flight still run through the victim; a session
# started meanwhile goes to the spare and is correct; the sessions in flight finish
# undisturbed (no replay); only then does the victim release the blocks and leave.
#
# A chat session holds the victim between its turns, so the drain window stays open as long
# as the test needs (a generation alone ends within seconds).
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"
source "$(dirname "$0")/drain_lib.bash"

STEPS=2000 # the context holds 2048

# Waits until the chat shell printed the reply to turn N (a line each, after its header).
wait_for_reply() {
  for _ in $(seq 300); do
    [ "$(grep -c . "$WORK/chat.out" 2>/dev/null || true)" -gt "$1" ] && return 0
    sleep 0.1
  done
  cat "$WORK/chat.out" "$WORK/chat.err" >&2
  fail "the chat did not answer turn $1"
}
PROMPT="Once upon a time"
want=$(reference_ids $STEPS "$PROMPT")

start_registry
for i in 0 1 2 3; do start_contributor "c$i" 0.004 --drain-seconds 60; done
wait_for_servers 4
start_shell s1
shell_send s1 "deploy $MODEL --sessions 3 --kv-type f32" # the chat and two generations at once
wait_for_line "$WORK/s1.out" ": ready" 60
deployed=$(deployment_hosts)
victim=$(echo "$deployed" | sed -n 2p | cut -d[ -f1)
spare=$(for i in 0 1 2 3; do echo "$deployed" | grep -q "^c$i\[" || echo "c$i"; done)
echo "deployed on $(echo $deployed); victim $victim, spare $spare"

start_shell chat
start_shell watch # asks for the session list without a fresh shell's ~1 s connect
shell_send chat "chat --temperature 0 --steps 32"
shell_send chat "$PROMPT"
wait_for_reply 1
shell_send s1 "generate --temperature 0 --steps $STEPS --ids $PROMPT"
wait_for_size "$WORK/s1.out" $(( $(stat -c %s "$WORK/s1.out") + 100 ))
sessions_before=$(shell_ask watch sessions | grep -oE '^[0-9]+' || true)
[ "$(echo "$sessions_before" | grep -c .)" = 2 ] || fail "the registry does not list the 2 sessions in flight"
kill -TERM "$(node_pid "$victim")"
wait_for_line "$WORK/$victim.log" "draining" 10
for _ in $(seq 50); do run_shell_once servers | grep -q "^$victim .* draining" && break; sleep 0.1; done
run_shell_once servers | grep -q "^$victim .* draining" || fail "the registry does not show $victim draining"
echo "drain: $victim is draining while sessions run through it"

# The deployer (in s1) moves the blocks to the spare while the victim still serves.
wait_for_line "$WORK/$victim.log" "moved to another server" 30
moved=$(deployment_hosts)
echo "$moved" | grep -q "^$victim\[" && fail "the deployment still lists $victim after the move"
echo "$moved" | grep -q "^$spare\[" || fail "the deployment does not list the spare $spare after the move"
echo "drain: the blocks moved to $spare; the deployment is now $(echo $moved)"

# A session started now goes to the spare, not to the draining victim, and is correct.
start_shell s2
shell_send s2 "generate --temperature 0 --steps $STEPS --ids $PROMPT"
route=""
for _ in $(seq 100); do
  route=$(shell_ask watch sessions | grep -E '^[0-9]+ ' | grep -vF "$sessions_before" | head -n 1 || true)
  [ -n "$route" ] || [ -n "$(shell_ids s2)" ] && break
  sleep 0.05
done
[ -n "$route" ] || fail "the session started during the drain was never listed"
echo "new session: $route"
echo "$route" | grep -qE "(^| )$victim( |$)" && fail "a new session was routed through the draining $victim"
echo "$route" | grep -qE "(^| )$spare( |$)" || fail "the new session does not go through the spare $spare"
stop_shell s2 120
stop_shell s1 120
[ "$(shell_ids s2)" = "$want" ] || { cat "$WORK/s2.err"; fail "the session started during the drain gave the wrong output"; }
[ "$(shell_ids s1)" = "$want" ] || { cat "$WORK/s1.err"; fail "the session in flight did not finish with the right output"; }
grep -q "recovered .* re-routing and replaying" "$WORK/s1.err" && fail "the session in flight had to replay: it was not drained"
grep -q "released blocks" "$WORK/$victim.log" && fail "$victim released its blocks while the chat session still used them"
echo "drain: the session started during the drain went to $spare; both generations identical to llamps generate"

# The chat's next turn still runs; once it ends, the victim releases its blocks and leaves.
shell_send chat "The little dog"
wait_for_reply 2
shell_send chat ""
stop_shell chat 30
grep -q "^error" "$WORK/chat.err" && { cat "$WORK/chat.err"; fail "the chat session failed during the drain"; }
wait_for_line "$WORK/$victim.log" "drained" 30
grep -q "time ran out" "$WORK/$victim.log" && fail "$victim released its blocks before its sessions ended"
ready_at=$(log_time "$WORK/$spare.log" "ready for")
released_at=$(log_time "$WORK/$victim.log" "released blocks")
echo "spare ready at $ready_at, victim released at $released_at"
[[ "$ready_at" < "$released_at" ]] || fail "the blocks were released ($released_at) before the spare had them ($ready_at)"
echo "drain: the blocks moved off $victim before it released them; no session was disturbed"

# The deployer's process (s1) has ended: nobody can move the blocks. A node that leaves now
# is told so at once and releases its blocks as soon as no session uses them (well before
# its 60 drain-seconds).
kill -TERM "$(node_pid "$spare")"
wait_for_line "$WORK/$spare.log" "nobody moved" 10
wait_for_line "$WORK/$spare.log" "drained" 10
grep -q "time ran out" "$WORK/$spare.log" && fail "$spare waited for its drain time although nobody could move its blocks"
echo "drain: with the deployer gone, $spare released its idle blocks at once"

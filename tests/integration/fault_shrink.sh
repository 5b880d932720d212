#!/usr/bin/env bash
# A contributor whose leftover shrinks: the admin lowers share-memory-gb in the node's
# --config file and sends SIGHUP. The node re-reads the file, sees that its hosts no longer
# fit, drains just enough of them (no new sessions there), has the deployer move their blocks
# to a spare server, and releases them once the session in flight ended — which finishes
# undisturbed (no replay, identical to llamps generate). The node stays in the cluster with
# its smaller offer. A SIGHUP to a node started without --config only logs that there is
# nothing to reload.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"
source "$(dirname "$0")/drain_lib.bash"

STEPS=2000 # the context holds 2048
PROMPT="Once upon a time"
want=$(reference_ids $STEPS "$PROMPT")

# The share of contributor NAME as its INI file says it: write_config NAME GB.
write_config() {
  local port_var="PORT_$1"
  cat >"$WORK/$1.ini" <<EOF
role = contributor
node-id = $1
listen = 127.0.0.1:${!port_var}
registry = 127.0.0.1:$REG_PORT
share-memory-gb = $2
share-cores = 1
cache-dir = $WORK/cache-$1
heartbeat-ms = 300
drain-seconds = 60
EOF
}

# Starts contributor NAME from an INI file offering GB (every contributor: which one the
# plan puts the middle blocks on is known only after the deploy).
start_configured() {
  eval "PORT_$1=$(free_port)"
  write_config "$1" "$2"
  start_node "$1" "$LLAMPS" node --config "$WORK/$1.ini"
  wait_for_line "$WORK/$1.log" "contributor listening"
}

start_registry
for i in 0 1 2 3; do start_configured "c$i" 0.0026; done
wait_for_servers 4
start_shell s1
shell_send s1 "deploy $MODEL --sessions 2 --kv-type f32"
wait_for_line "$WORK/s1.out" ": ready" 60
deployed=$(deployment_hosts)
victim=$(echo "$deployed" | sed -n 2p | cut -d[ -f1)
spare=$(for i in 0 1 2 3; do echo "$deployed" | grep -q "^c$i\[" || echo "c$i"; done)
echo "deployed on $(echo $deployed); victim $victim, spare $spare"

shell_send s1 "generate --temperature 0 --steps $STEPS --ids $PROMPT"
wait_for_size "$WORK/s1.out" $(( $(stat -c %s "$WORK/s1.out") + 100 ))
# 1 MB no longer holds the victim's two blocks and their KV budget (about 2.4 MB).
write_config "$victim" 0.001
kill -HUP "$(node_pid "$victim")"
wait_for_line "$WORK/$victim.log" "reloaded" 10
wait_for_line "$WORK/$victim.log" "shrank below .* draining blocks" 10
grep "draining blocks" "$WORK/$victim.log"
wait_for_line "$WORK/$victim.log" "moved to another server" 30
moved=$(deployment_hosts)
echo "$moved" | grep -q "^$victim\[" && fail "the deployment still lists $victim after the move"
echo "$moved" | grep -q "^$spare\[" || fail "the deployment does not list the spare $spare after the move"
echo "shrink: the blocks moved to $spare; the deployment is now $(echo $moved)"

stop_shell s1 120
[ "$(shell_ids s1)" = "$want" ] || { cat "$WORK/s1.err"; fail "the session in flight did not finish with the right output"; }
grep -q "recovered .* re-routing and replaying" "$WORK/s1.err" && fail "the session in flight had to replay: it was not drained"
wait_for_line "$WORK/$victim.log" "released blocks" 30
grep -q "time ran out" "$WORK/$victim.log" && fail "$victim released its blocks before the session finished"
ready_at=$(log_time "$WORK/$spare.log" "ready for")
released_at=$(log_time "$WORK/$victim.log" "released blocks")
[[ "$ready_at" < "$released_at" ]] || fail "the blocks were released ($released_at) before the spare had them ($ready_at)"
echo "shrink: the session in flight finished identical; $victim released its blocks after $spare had them"

# The node stays: listed, healthy, hosting nothing, offering its new share.
row=""
for _ in $(seq 50); do
  row=$(run_shell_once servers | grep "^$victim " || true)
  echo "$row" | grep -qE " 1\.0 MB .* ok +-$" && break
  sleep 0.2
done
echo "after the shrink: $row"
echo "$row" | grep -qE " 1\.0 MB .* ok +-$" || fail "$victim is not listed healthy, empty and offering 1.0 MB after the shrink"
kill -0 "$(node_pid "$victim")" || fail "$victim exited"
grep -q "SIGTERM\|drained" "$WORK/$victim.log" && fail "$victim left the cluster instead of shrinking"
run_shell_once "generate --temperature 0 --steps 64 --ids $PROMPT" >"$WORK/after.out"
grep -qxF "$(reference_ids 64 "$PROMPT")" "$WORK/after.out" || { cat "$WORK/after.out"; fail "a session after the shrink gave the wrong output"; }

# Without --config, SIGHUP changes nothing: the registry logs so and keeps serving.
kill -HUP "$PID_registry"
wait_for_line "$WORK/registry.log" "nothing to reload" 10
wait_for_servers 4
echo "shrink: $victim stays in the cluster with its smaller offer; SIGHUP without --config is harmless"

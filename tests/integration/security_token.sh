#!/usr/bin/env bash
# A shared join token on a trusted network without TLS: a registry and two contributors with
# --join-token serve a deploy and a greedy generation equal to `llamps generate`; contributors
# and shells with a wrong or no token are refused (the registry logs each refusal), never
# listed, and the cluster keeps working.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"
source "$(dirname "$0")/security_lib.bash"

TOKEN=s3cret-$RANDOM$RANDOM
creds() { echo --join-token "$TOKEN"; }

start_cluster
expect_generation legit "One day, Tom" 48 $(creds shell)

expect_node_refused rogue-wrong --join-token "not-$TOKEN"
expect_node_refused rogue-none
expect_shell_refused shell-wrong --join-token "not-$TOKEN"
expect_shell_refused shell-none
# Every node publishes only a gate: a contributor's port refuses the same way.
REG_SAVED=$REG_PORT; REG_PORT=$C0_PORT
expect_shell_refused shell-none-to-c0
REG_PORT=$REG_SAVED

logged=$(grep -c "refused a hello" "$WORK/registry.log" "$WORK/c0.log" | awk -F: '{s += $2} END {print s}')
[ "$logged" -ge "$REFUSED" ] || { cat "$WORK/registry.log"; fail "only $logged of $REFUSED refusals were logged"; }
expect_servers after $(creds shell)
expect_generation after-rogues "The little dog" 60 $(creds shell)
kill -0 $PID_registry $PID_c0 $PID_c1 || fail "a cluster node died"
stop_cluster
echo "security_token: $REFUSED rogue attempts refused and logged; the cluster equals llamps generate before and after"

#!/usr/bin/env bash
# The loopback cluster again, but each node in its own network namespace with its own
# address, joined by a bridge: what crosses between nodes really crosses a network.
# Needs root and `ip netns`; skips (77) otherwise.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"

[ "$(id -u)" = 0 ] || { echo "skip: not root"; exit 77; }
command -v ip >/dev/null || { echo "skip: no ip command"; exit 77; }
TAG=llt$$
BRIDGE=br-$TAG
SUBNET=10.77.$(( $$ % 200 + 20 ))
ip netns add "$TAG-probe" 2>/dev/null || { echo "skip: ip netns does not work here"; exit 77; }
ip netns del "$TAG-probe"

NAMESPACES=()
teardown() {
  for ns in "${NAMESPACES[@]}"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true; done
  for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  ip link del "$BRIDGE" 2>/dev/null || true
  cleanup
}
trap teardown EXIT

ip link add "$BRIDGE" type bridge
ip addr add "$SUBNET.1/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
# Host i gets $SUBNET.(10+i) in namespace $TAG-i.
make_host() {
  local i=$1 ns=$TAG-$1
  ip netns add "$ns"
  NAMESPACES+=("$ns")
  ip link add "v$TAG$i" type veth peer name "b$TAG$i"
  ip link set "v$TAG$i" netns "$ns"
  ip link set "b$TAG$i" master "$BRIDGE" up
  ip -n "$ns" addr add "$SUBNET.$((10 + i))/24" dev "v$TAG$i"
  ip -n "$ns" link set "v$TAG$i" up
  ip -n "$ns" link set lo up
}
for i in 0 1 2 3; do make_host $i; done

REG=$SUBNET.10:4242
start_node registry ip netns exec "$TAG-0" "$LLAMPS" node --role registry --listen "$REG" --heartbeat-ms 300
wait_for_line "$WORK/registry.log" "registry listening"
# c3 listens on every interface: the registry lists it (and the others link to it) at the
# address its connection comes from.
for i in 1 2 3; do
  host=$SUBNET.$((10 + i)); [ $i = 3 ] && host=0.0.0.0
  start_node "c$i" ip netns exec "$TAG-$i" "$LLAMPS" node --role contributor --node-id "c$i" \
    --listen "$host:4243" --registry "$REG" --share-memory-gb 0.0026 --share-cores 1 \
    --cache-dir "$WORK/cache$i" --use-local-copies false --heartbeat-ms 300
  wait_for_line "$WORK/c$i.log" "contributor listening"
done

printf 'servers\ndeploy %s --sessions 2 --kv-type f32\ndeployments\ngenerate --temperature 0 --steps 48 --ids One day, Tom\n' "$MODEL" >"$WORK/script"
"$LLAMPS" shell --connect "$REG" <"$WORK/script" >"$WORK/shell.out" 2>"$WORK/shell.err" ||
  { cat "$WORK/shell.out" "$WORK/shell.err" "$WORK"/c*.log; fail "shell script failed"; }
cat "$WORK/shell.out"
got=$(grep -E '^1( [0-9]+)+$' "$WORK/shell.out" | head -n 1)
[ "$got" = "$(oracle_ids 2)" ] || fail "across namespaces: got '$got', oracle '$(oracle_ids 2)'"
for i in 1 2 3; do grep -q "$SUBNET.$((10 + i)):4243" "$WORK/shell.out" || fail "c$i is not listed at its own address"; done
echo "cluster_netns: four namespaces, oracle ids over a real bridge"

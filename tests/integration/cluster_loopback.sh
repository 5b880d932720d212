#!/usr/bin/env bash
# A registry and three contributor processes on loopback, driven by `llamps shell` from a
# script: the distributed greedy output must equal `llamps generate` and the oracle ids.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"

REG_PORT=$(free_port)
start_node registry "$LLAMPS" node --role registry --listen 127.0.0.1:$REG_PORT --heartbeat-ms 300
wait_for_line "$WORK/registry.log" "registry listening"
mem=(0.0026 0.0026 0.0026)   # GB each: no two of them hold the blocks with their KV budget
for i in 0 1 2; do
  port=$(free_port)
  start_node "c$i" "$LLAMPS" node --role contributor --node-id "c$i" --listen 127.0.0.1:$port \
    --registry 127.0.0.1:$REG_PORT --share-memory-gb ${mem[$i]} --share-cores 1 \
    --cache-dir "$WORK/cache$i" --use-local-copies $([ $i = 1 ] && echo false || echo true) --heartbeat-ms 300
  wait_for_line "$WORK/c$i.log" "contributor listening"
done

cat >"$WORK/script" <<SCRIPT
servers
deploy $MODEL --sessions 2 --kv-type f32
deployments
generate --temperature 0 --steps 48 --ids One day, Tom
generate --temperature 0 --steps 40 --ids
generate --temperature 0 --steps 60 --ids The little dog
SCRIPT
"$LLAMPS" shell --connect 127.0.0.1:$REG_PORT <"$WORK/script" >"$WORK/shell.out" 2>"$WORK/shell.err" ||
  { cat "$WORK/shell.out" "$WORK/shell.err"; fail "shell script failed"; }
cat "$WORK/shell.out"

ids_lines=$(grep -E '^1( [0-9]+)+$' "$WORK/shell.out")
got_tom=$(echo "$ids_lines" | sed -n 1p)
got_none=$(echo "$ids_lines" | sed -n 2p)
got_dog=$(echo "$ids_lines" | sed -n 3p)
[ "$got_tom" = "$(oracle_ids 2)" ] || fail "prompt case: got '$got_tom', oracle '$(oracle_ids 2)'"
[ "$got_none" = "$(oracle_ids 1)" ] || fail "no-prompt case: got '$got_none', oracle '$(oracle_ids 1)'"
want_dog=$("$LLAMPS" generate --model "$MODEL" --temperature 0 --steps 60 --prompt "The little dog" --ids --kv-type f32 2>/dev/null | tail -n 1)
[ "$got_dog" = "$want_dog" ] || fail "own prompt: distributed '$got_dog' != single-process '$want_dog'"
# Three servers hold the blocks, and c1 pulled its blocks from the deployer.
grep -q "c0\[" "$WORK/shell.out" && grep -q "c1\[" "$WORK/shell.out" && grep -q "c2\[" "$WORK/shell.out" ||
  fail "the deployment does not use all three contributors"
ls "$WORK/cache1"/*.gguf >/dev/null 2>&1 || fail "c1 did not pull its blocks from the deployer"
# The hosts pass hidden states to each other directly: every two nodes share one connection.
check_links registry c0 c1 c2
echo "cluster_loopback: distributed output equals the oracle and llamps generate"

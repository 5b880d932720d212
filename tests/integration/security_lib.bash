# Helpers shared by security_tls.sh and security_token.sh (sourced after lib.bash; not a test
# of its own: only *.sh files are). Each script passes its own credentials as arguments.

[ -f "$MODEL" ] || { echo "skip: no test model at $MODEL"; exit 77; }
REFUSED=0   # rogue attempts refused so far (the figure docs/security.md quotes)

# start_cluster ARGS...: a registry and two contributors, each given ARGS plus its own
# credentials from the function `creds NODE` (defined by the calling script).
start_cluster() {
  REG_PORT=$(free_port)
  start_node registry "$LLAMPS" node --role registry --node-id registry --listen 127.0.0.1:$REG_PORT \
    --heartbeat-ms 300 $(creds registry)
  wait_for_line "$WORK/registry.log" "registry listening"
  for i in 0 1; do
    local port
    port=$(free_port)
    eval "C${i}_PORT=$port"
    # 4 MB each: the model with its KV budget (about 6 MB) needs both contributors.
    start_node "c$i" "$LLAMPS" node --role contributor --node-id "c$i" --listen 127.0.0.1:$port \
      --registry 127.0.0.1:$REG_PORT --share-memory-gb 0.004 --share-cores 1 \
      --cache-dir "$WORK/cache$i" --use-local-copies false --heartbeat-ms 300 $(creds "c$i")
    wait_for_line "$WORK/c$i.log" "contributor listening"
  done
  # Both joined before anything else happens.
  for _ in $(seq 50); do
    [ "$(grep -c "joined from" "$WORK/registry.log" || true)" -ge 2 ] && break
    sleep 0.1
  done
}

# shell_run NAME SCRIPT ARGS...: runs `llamps shell` on SCRIPT's lines; output in $WORK/NAME.out
# and $WORK/NAME.err; returns the shell's exit code.
shell_run() {
  local name=$1 script=$2; shift 2
  printf '%s\n' "$script" >"$WORK/$name.script"
  timeout 120 "$LLAMPS" shell --connect 127.0.0.1:$REG_PORT "$@" <"$WORK/$name.script" \
    >"$WORK/$name.out" 2>"$WORK/$name.err"
}

# expect_shell_refused NAME ARGS...: a shell with ARGS must neither list servers nor deploy.
expect_shell_refused() {
  local name=$1; shift
  if shell_run "$name" "servers
deploy $MODEL" "$@"; then
    cat "$WORK/$name.out" "$WORK/$name.err"
    fail "$name: the shell was not refused"
  fi
  grep -q "SERVER" "$WORK/$name.out" && fail "$name: a refused shell listed the servers"
  grep -qi "deployed\|ready" "$WORK/$name.out" && fail "$name: a refused shell deployed"
  echo "refused as expected: $name: $(head -n 1 "$WORK/$name.err")"
  REFUSED=$((REFUSED + 1))
}

# expect_node_refused NAME ARGS...: a contributor with ARGS must fail to join and exit non-zero.
expect_node_refused() {
  local name=$1; shift
  local port
  port=$(free_port)
  if timeout 60 "$LLAMPS" node --role contributor --node-id "$name" --listen 127.0.0.1:$port \
      --registry 127.0.0.1:$REG_PORT --share-memory-gb 0.01 --share-cores 1 \
      --cache-dir "$WORK/cache-$name" "$@" >"$WORK/$name.log" 2>&1; then
    cat "$WORK/$name.log"
    fail "$name: the rogue contributor was not refused"
  fi
  grep -q "contributor listening" "$WORK/$name.log" && fail "$name: the rogue contributor started serving"
  echo "refused as expected: $name: $(grep -m1 error "$WORK/$name.log" || head -n 1 "$WORK/$name.log")"
  REFUSED=$((REFUSED + 1))
}

# expect_servers NAME ARGS...: a legitimate shell lists exactly c0 and c1, no rogue.
expect_servers() {
  local name=$1; shift
  shell_run "$name" "servers" "$@" || { cat "$WORK/$name.out" "$WORK/$name.err"; fail "$name: servers failed"; }
  local rows
  rows=$(awk 'NR > 1 {print $1}' "$WORK/$name.out" | sort | tr '\n' ' ')
  [ "$rows" = "c0 c1 " ] || { cat "$WORK/$name.out"; fail "$name: servers are '$rows', not 'c0 c1'"; }
  # Still healthy: a refused peer must not cut members off (see runtime/node/openssl_error_queue.cpp).
  [ "$(grep -c ' ok ' "$WORK/$name.out")" = 2 ] || { cat "$WORK/$name.out"; fail "$name: a member is not healthy"; }
}

# expect_generation NAME PROMPT STEPS ARGS...: a legitimate shell deploys (when nothing is
# deployed yet) and generates greedily; its ids must equal `llamps generate --ids`.
expect_generation() {
  local name=$1 prompt=$2 steps=$3; shift 3
  local deploy=""
  [ -n "${DEPLOYED:-}" ] || deploy="deploy $MODEL --sessions 2 --kv-type f32"
  shell_run "$name" "$deploy
generate --temperature 0 --steps $steps --ids $prompt" "$@" ||
    { cat "$WORK/$name.out" "$WORK/$name.err"; tail -n 20 "$WORK"/registry.log "$WORK"/c?.log; fail "$name: the shell failed"; }
  if [ -z "${DEPLOYED:-}" ]; then # the chain spans both contributors: activations cross nodes
    grep -qE '^  c0 .*ready' "$WORK/$name.out" && grep -qE '^  c1 .*ready' "$WORK/$name.out" ||
      { cat "$WORK/$name.out"; fail "$name: the deployment does not use both contributors"; }
  fi
  DEPLOYED=1
  local got want
  got=$(grep -E '^1( [0-9]+)+$' "$WORK/$name.out" | tail -n 1)
  want=$("$LLAMPS" generate --model "$MODEL" --temperature 0 --steps "$steps" --prompt "$prompt" --ids --kv-type f32 2>/dev/null | tail -n 1)
  [ -n "$got" ] && [ "$got" = "$want" ] ||
    { cat "$WORK/$name.out" "$WORK/$name.err"; fail "$name: cluster ids '$got' != llamps generate '$want'"; }
  echo "$name: greedy ids equal llamps generate ($steps steps)"
}

# stop_cluster: SIGTERM to every node; each must shut down by itself (no actor left behind,
# e.g. a gate that outlives its node's registry or contributor).
stop_cluster() {
  kill -TERM $PID_c0 $PID_c1 $PID_registry
  local alive
  for _ in $(seq 100); do
    alive=0
    for p in $PID_c0 $PID_c1 $PID_registry; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for p in $PID_c0 $PID_c1 $PID_registry; do
    kill -0 $p 2>/dev/null && fail "node $p did not shut down on SIGTERM"
  done
  grep -q "shutting down" "$WORK/registry.log" || fail "the registry did not shut down cleanly"
}

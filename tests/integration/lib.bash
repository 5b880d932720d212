# Shared helpers for the integration scripts (sourced, not run: no test of its own).
# Usage: source lib.bash "$@"  — sets LLAMPS, SRC, BUILD, MODEL, WORK and a cleanup trap.
LLAMPS=$1
SRC=$2
BUILD=$3
MODEL=$SRC/../shared/models/stories260K.gguf
# stories260K's blocks are tiny, so its KV cache decides how many fit in a node's share. The
# shares of the cluster scripts are sized for an F32 cache and their deploys say --kv-type
# f32; the demo, the HTTP and load tests run the default F16 cache.
ORACLE_README=$SRC/../shared/models/README.md
WORK=$(mktemp -d "${TMPDIR:-/tmp}/llamps-it.XXXXXX")
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Fails the test with MESSAGE, after the last lines of every node log and error file it wrote,
# so that a failure seen once in CI says what the nodes were doing.
fail() {
  local f
  for f in "$WORK"/*.log "$WORK"/*.err; do
    [ -s "$f" ] && { echo "--- last lines of $(basename "$f")" >&2; tail -n 15 "$f" >&2; }
  done
  echo "FAIL: $*" >&2
  exit 1
}

# The oracle's id lines from the shared README: oracle 1 = no prompt (40), 2 = "One day, Tom" (48).
oracle_ids() { grep -E '^    1( [0-9]+)+$' "$ORACLE_README" | sed -n "${1}p" | sed 's/^ *//'; }

# A port nobody listens on (the kernel picks it).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits until FILE contains PATTERN (or fails after SECONDS).
wait_for_line() {
  local file=$1 pattern=$2 seconds=${3:-30}
  for _ in $(seq $((seconds * 10))); do
    grep -q "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$file" >&2
  fail "timed out waiting for '$pattern' in $file"
}

# Starts a llamps node in the background: start_node NAME ARGS...; its output goes to $WORK/NAME.log.
start_node() {
  local name=$1; shift
  "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  eval "PID_$name=$!"
}

# Starts a registry on a free port (sets REG_PORT); extra node options follow.
start_registry() {
  REG_PORT=$(free_port)
  start_node registry "$LLAMPS" node --role registry --listen 127.0.0.1:$REG_PORT --heartbeat-ms 300 "$@"
  wait_for_line "$WORK/registry.log" "registry listening"
}

# Starts contributor NAME offering GB of memory to the registry at REG_PORT; extra options follow.
start_contributor() {
  local name=$1 gb=$2; shift 2
  local port; port=$(free_port)
  eval "PORT_$name=$port"
  start_node "$name" "$LLAMPS" node --role contributor --node-id "$name" --listen 127.0.0.1:$port \
    --registry 127.0.0.1:$REG_PORT --share-memory-gb "$gb" --share-cores 1 \
    --cache-dir "$WORK/cache-$name" --heartbeat-ms 300 "$@"
  wait_for_line "$WORK/$name.log" "contributor listening"
}

# Waits until the registry lists N healthy servers.
wait_for_servers() {
  local n=$1
  for _ in $(seq 300); do
    [ "$(run_shell_once servers | grep -c ' ok ')" -ge "$n" ] && return 0
    sleep 0.1
  done
  fail "fewer than $n servers joined"
}

# Runs shell commands (one per argument) in a fresh shell and prints its output.
run_shell_once() {
  printf '%s\n' "$@" | "$LLAMPS" shell --connect 127.0.0.1:$REG_PORT 2>&1
}

# Long-lived shells reading commands from a FIFO: start_shell NAME [OPTION...] starts one (its output
# goes to $WORK/NAME.out, errors to NAME.err), shell_send NAME LINE writes a command to it,
# stop_shell NAME [SECONDS] sends quit and waits for it to end.
declare -A SHELL_FD SHELL_PID
start_shell() {
  local name=$1 fd; shift
  mkfifo "$WORK/$name.in"
  "$LLAMPS" shell --connect 127.0.0.1:$REG_PORT "$@" <"$WORK/$name.in" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  SHELL_PID[$name]=$!
  PIDS+=($!)
  exec {fd}>"$WORK/$name.in"
  SHELL_FD[$name]=$fd
}
shell_send() { local name=$1; shift; printf '%s\n' "$*" >&"${SHELL_FD[$name]}"; }
stop_shell() {
  local name=$1 seconds=${2:-60} pid=${SHELL_PID[$1]} fd=${SHELL_FD[$1]}
  shell_send "$name" quit
  exec {fd}>&-
  for _ in $(seq $((seconds * 10))); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  cat "$WORK/$name.out" "$WORK/$name.err" >&2
  fail "shell $name did not finish within $seconds s"
}
# Sends one command to the long-lived shell NAME and prints its answer to that command alone
# (the shell writes each answer in one flush): shell_ask NAME COMMAND. Much quicker than
# run_shell_once, whose fresh shell needs about a second to connect.
shell_ask() {
  local name=$1 before; shift
  before=$(stat -c %s "$WORK/$name.out")
  shell_send "$name" "$*"
  for _ in $(seq 200); do
    [ "$(stat -c %s "$WORK/$name.out")" -gt "$before" ] && { tail -c +$((before + 1)) "$WORK/$name.out"; return 0; }
    sleep 0.05
  done
  fail "shell $name did not answer '$*' within 10 s"
}
# The first ids line a shell printed.
shell_ids() { grep -E '^1( [0-9]+)+$' "$WORK/$1.out" | head -n 1 || true; }

# Waits until FILE is at least BYTES long.
wait_for_size() {
  local file=$1 bytes=$2 seconds=${3:-60}
  for _ in $(seq $((seconds * 10))); do
    [ "$(stat -c %s "$file" 2>/dev/null || echo 0)" -ge "$bytes" ] && return 0
    sleep 0.1
  done
  cat "$file" >&2
  fail "timed out waiting for $file to reach $bytes bytes"
}

# The single-process reference ids for a prompt: reference_ids STEPS PROMPT
reference_ids() {
  "$LLAMPS" generate --model "$MODEL" --temperature 0 --steps "$1" --prompt "$2" --ids --kv-type f32 2>/dev/null | tail -n 1
}

# The process id of the node started as NAME (start_node).
node_pid() { local var="PID_$1"; echo "${!var}"; }

# Fails unless every two of the named nodes share exactly one TCP connection (no pair linked
# twice, as CAF's automatic connections could do, and every pair linked): check_links NAME...
check_links() {
  local args=() name
  for name in "$@"; do
    args+=("$name=$(node_pid "$name")")
  done
  ss -tnpH state established | python3 "$SRC/tests/integration/links.py" "${args[@]}" ||
    fail "the nodes are not linked once per pair (counts above)"
}

# Fails unless each named node listens on one TCP port only, its --listen port: with TLS every
# port must need a certificate (CAF's automatic connections open a second, plain one).
check_one_listener() {
  local name pid n
  for name in "$@"; do
    pid=$(node_pid "$name")
    n=$(ss -tlnpH | grep -c "pid=$pid," || true)
    [ "$n" = 1 ] || { ss -tlnpH | grep "pid=$pid,"; fail "$name listens on $n ports, not 1"; }
  done
}

# The hosts of the deployed stories260K as the shell lists them, one "node[blocks]" per line.
deployment_hosts() { run_shell_once deployments | grep -E '^stories260K' | grep -oE '[a-z0-9]+\[[0-9-]+\]' || true; }

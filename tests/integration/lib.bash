# Shared helpers for the integration scripts (sourced, not run: no test of its own).
# Usage: source lib.bash "$@"  — sets LLAMPS, SRC, BUILD, MODEL, WORK and a cleanup trap.
LLAMPS=$1
SRC=$2
BUILD=$3
MODEL=$SRC/../shared/models/stories260K.gguf
ORACLE_README=$SRC/../shared/models/README.md
WORK=$(mktemp -d "${TMPDIR:-/tmp}/llamps-it.XXXXXX")
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

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

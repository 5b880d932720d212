#!/usr/bin/env bash
# Bad requests against a running node get one clear error each, and the node keeps serving:
# an unreachable registry, an unknown model, a missing model file, a prompt longer than the
# context, deploying twice, undeploying what is not deployed, sampling settings out of range,
# a quantised file of an unsupported type or cut short.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"

# Runs one shell command line; its stderr goes to $WORK/err. Returns the shell's exit code.
shell_line() { echo "$1" | "$LLAMPS" shell --connect "127.0.0.1:$PORT" >"$WORK/out" 2>"$WORK/err"; }
expect_error() { # LINE PATTERN
  if shell_line "$1"; then fail "'$1' succeeded"; fi
  grep -q "$2" "$WORK/err" || { cat "$WORK/err"; fail "'$1': error does not say '$2'"; }
  [ "$(grep -c . "$WORK/err")" = 1 ] || { cat "$WORK/err"; fail "'$1': more than one error line"; }
}

# No registry listening there.
DEAD=$(free_port)
if "$LLAMPS" shell --connect 127.0.0.1:$DEAD </dev/null >"$WORK/out" 2>"$WORK/err"; then fail "shell connected to nothing"; fi
grep -q "cannot reach 127.0.0.1:$DEAD" "$WORK/err" || { cat "$WORK/err"; fail "unreachable registry not named"; }

PORT=$(free_port)
start_node node "$LLAMPS" node --role both --listen 127.0.0.1:$PORT --share-memory-gb 1 --cache-dir "$WORK/cache"
wait_for_line "$WORK/node.log" "registry listening"

expect_error "generate hello" "no model is deployed"
expect_error "deploy $WORK/missing.gguf" "missing.gguf"
shell_line "deploy $MODEL --sessions 2" || { cat "$WORK/err"; fail "deploy failed"; }
expect_error "deploy $MODEL" "already"
expect_error "generate --model nope hello" "unknown model 'nope'"
long=$(python3 -c 'print(" ".join(["once upon a time"] * 700))')
expect_error "generate $long" "context holds 2048"
expect_error "undeploy nope" "nope"
expect_error "generate --temperature -1 hello" "temperature must be 0 (greedy) or more, not -1"
expect_error "generate --top-p 1.5 hello" "top-p must be between 0 and 1, not 1.5"
expect_error "generate --steps 0 hello" "steps must be positive"
expect_error "chat --temperature nan" "temperature must be 0 (greedy) or more, not nan"
expect_error "plan $MODEL --sessions -3" "plan: sessions must be between 1 and 4096, not -3"
expect_error "deploy $MODEL --replicas 65" "deploy: replicas must be between 1 and 64, not 65"
expect_error "frobnicate" "unknown command"
# Quantised files gone wrong: a type LLaMPS does not compute on, and a truncated file.
python3 - "$SRC/../shared/models/quant/stories260K/s260k-q8_0.gguf" "$WORK" <<'PY'
import struct, sys
src, work = sys.argv[1:]
data = bytearray(open(src, "rb").read())
name = b"blk.2.attn_q.weight"
at = data.find(struct.pack("<Q", len(name)) + name) + 8 + len(name)
n_dims = struct.unpack_from("<I", data, at)[0]
struct.pack_into("<I", data, at + 4 + 8 * n_dims, 16)  # iq2_xxs
open(work + "/iq2.gguf", "wb").write(data)
open(work + "/cut.gguf", "wb").write(open(src, "rb").read()[:-5000])
PY
expect_error "deploy $WORK/iq2.gguf" "tensor 'blk.2.attn_q.weight' has type iq2_xxs (16), which is not supported"
expect_error "deploy $WORK/cut.gguf" "cut.gguf: tensor '.*' data ends at byte"
# Still serving, and still right.
shell_line "generate --temperature 0 --steps 48 --ids One day, Tom" || { cat "$WORK/err"; fail "generate after errors failed"; }
[ "$(tail -n 1 "$WORK/out")" = "$(oracle_ids 2)" ] || fail "ids after the errors differ from the oracle"
echo "cluster_errors: every bad request got its one-line error; the node kept serving"

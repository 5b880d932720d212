#!/usr/bin/env bash
# libtorch serves only `llamps bench`'s roofline probes, from a plugin the binary opens on the
# first probe: no other command maps it (its static initialisers alone cost about a second).
# The binary does not link it; `generate` and a registry node never load it; bench does, and
# without the plugin bench says what is missing and exits non-zero.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"

# Libraries a command loads, as the dynamic loader reports them (dlopen included).
loaded() { LD_DEBUG=files "$@" 2>&1 >/dev/null | grep -oE 'file=[^ ]+' | sort -u; }

if ldd "$LLAMPS" | grep -q libtorch; then fail "llamps links libtorch: $(ldd "$LLAMPS" | grep libtorch)"; fi

libs=$(loaded "$LLAMPS" generate --model "$MODEL" --temperature 0 --steps 8 --threads 1)
grep -q libtorch <<<"$libs" && fail "generate loaded libtorch"
grep -q libllamps_torch_probes <<<"$libs" && fail "generate opened the probes plugin"

start_registry
grep -q libtorch "/proc/$PID_registry/maps" && fail "a registry node mapped libtorch"

probe=(bench --runs 1 --probe-rows 256 --probe-cols 256 --matmul-size 64 --threads 1)
libs=$(loaded "$LLAMPS" "${probe[@]}")
grep -q 'libllamps_torch_probes.so' <<<"$libs" || fail "bench did not open the probes plugin"
grep -q 'libtorch' <<<"$libs" || fail "bench's probes did not load libtorch"

# The binary alone, without its plugin: a clear error, not a crash.
cp "$LLAMPS" "$WORK/llamps"
if "$WORK/llamps" "${probe[@]}" >"$WORK/out" 2>"$WORK/err"; then fail "bench ran without its plugin"; fi
grep -q "libllamps_torch_probes.so (libtorch), which could not be opened" "$WORK/err" ||
  fail "unclear error without the plugin: $(cat "$WORK/err")"
# ... and the plugin named by LLAMPS_TORCH_PROBES is found wherever the binary is.
LLAMPS_TORCH_PROBES="$(dirname "$LLAMPS")/libllamps_torch_probes.so" "$WORK/llamps" "${probe[@]}" >"$WORK/out" ||
  fail "bench did not find the plugin named by LLAMPS_TORCH_PROBES"
grep -q "BLAS matrix product" "$WORK/out" || fail "no probe figures: $(cat "$WORK/out")"
echo "torch_free: ok"

#!/usr/bin/env bash
# `llamps bench` on stories260K with small probes: every figure is printed with a number, the
# batched decode runs, and bad options or a missing model fail at once with one clear line.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"

"$LLAMPS" bench --model "$MODEL" --batch 4 --decode-tokens 32 --runs 1 --probe-rows 1024 \
  --probe-cols 1024 --matmul-size 128 >"$WORK/bench.out" 2>"$WORK/bench.err" ||
  { cat "$WORK/bench.out" "$WORK/bench.err"; fail "llamps bench failed"; }
cat "$WORK/bench.out"
for row in "BLAS matrix product" "matrix-vector bandwidth" "prefill" "decode (1 session)" \
           "decode (4 sessions)" "decode weight traffic" "roofline ratio" "block matrix products" \
           "head (embed, norm, logits)"; do
  grep -qE "^ *$(printf '%s' "$row" | sed 's/[()]/\\&/g') +[0-9]+\.[0-9]" "$WORK/bench.out" ||
    fail "no '$row' row with a number"
done

# Bad input: exit 2 (options) or 1 (the model), one line naming the problem, no probes run.
expect_error() {
  local code=$1 text=$2; shift 2
  local got=0
  "$LLAMPS" bench "$@" >"$WORK/bad.out" 2>"$WORK/bad.err" || got=$?
  [ "$got" = "$code" ] || fail "llamps bench $* exited $got, not $code"
  grep -qF -- "$text" "$WORK/bad.err" || { cat "$WORK/bad.err"; fail "llamps bench $*: no '$text'"; }
  [ ! -s "$WORK/bad.out" ] || fail "llamps bench $* ran the probes before failing"
}
expect_error 1 "/nonexistent.gguf: cannot open" --model /nonexistent.gguf
expect_error 2 "--batch must be at least 1" --model "$MODEL" --batch 0
expect_error 2 "--batch must be at most 64" --model "$MODEL" --batch 65
expect_error 2 "--runs must be at least 1" --runs 0
expect_error 2 "--threads must be 0 (all cores) or more" --threads -1
echo "bench_smoke: every figure printed; bad options and a missing model refused at once"

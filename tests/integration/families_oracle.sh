#!/usr/bin/env bash
# The model families (Llama 3 with rope_freqs, Qwen2 with biases, tied and untied, Phi-3 with
# fused matrices) give llama.cpp's greedy ids in one process (`generate`), in the demo (three
# in-process contributors) and through a registry and two contributor processes, one of which
# pulls its block and the shared rope factors from the deployer.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"
FAMILIES="$SRC/../shared/models/families/models"
all_models=(llama3-rope500k-s5 llama3-rope500k-sharpqk-s3 qwen2-bias-s1 qwen2-bias-tied-s5 phi3-fused-s2)

# llama.cpp's ids (BOS + prompt + generated, 49 for 48 steps) from the model's greedy.json.
llama_cpp_ids() { python3 -c 'import json,sys; print(*json.load(open(sys.argv[1]))["ids"])' "$FAMILIES/$1.greedy.json"; }

# llama.cpp's references were made with an F32 KV cache: every run here uses one too.
for m in "${all_models[@]}"; do
  got=$("$LLAMPS" generate --model "$FAMILIES/$m.gguf" --prompt "One day, Tom" --steps 48 --temperature 0 \
        --kv-type f32 --ids 2>"$WORK/gen-$m.err" | tail -n 1) || { cat "$WORK/gen-$m.err"; fail "generate $m failed"; }
  [ "$got" = "$(llama_cpp_ids "$m")" ] || fail "generate $m: got '$got', llama.cpp '$(llama_cpp_ids "$m")'"
  got=$("$LLAMPS" demo --model "$FAMILIES/$m.gguf" --prompt "One day, Tom" --steps 48 --kv-type f32 --ids \
        2>"$WORK/demo-$m.err" | tail -n 1) || { cat "$WORK/demo-$m.err"; fail "demo $m failed"; }
  [ "$got" = "$(llama_cpp_ids "$m")" ] || fail "demo $m: got '$got', llama.cpp '$(llama_cpp_ids "$m")'"
done

# Deploys each model on two contributors offering GB each (a block and its KV for one session
# fit, two do not) and checks the distributed ids; c1 keeps no local copies.
distributed() {
  local gb=$1; shift
  start_registry
  start_contributor c0 "$gb"
  start_contributor c1 "$gb" --use-local-copies false
  wait_for_servers 2
  local script="$WORK/script-$gb"
  : >"$script"
  for m in "$@"; do
    printf 'deploy %s --sessions 1 --kv-type f32\ndeployments\ngenerate --model %s --temperature 0 --steps 48 --ids One day, Tom\nundeploy %s\n' \
      "$FAMILIES/$m.gguf" "$m" "$m" >>"$script"
  done
  "$LLAMPS" shell --connect 127.0.0.1:$REG_PORT <"$script" >"$WORK/shell-$gb.out" 2>&1 ||
    { cat "$WORK/shell-$gb.out"; fail "shell script failed"; }
  local ids i=1
  ids=$(grep -E '^1( [0-9]+)+$' "$WORK/shell-$gb.out")
  for m in "$@"; do
    [ "$(echo "$ids" | sed -n ${i}p)" = "$(llama_cpp_ids "$m")" ] ||
      { cat "$WORK/shell-$gb.out"; fail "distributed $m: got '$(echo "$ids" | sed -n ${i}p)'"; }
    i=$((i + 1))
  done
  [ "$(grep -c 'c0\[' "$WORK/shell-$gb.out")" -ge $# ] && [ "$(grep -c 'c1\[' "$WORK/shell-$gb.out")" -ge $# ] ||
    { cat "$WORK/shell-$gb.out"; fail "a deployment does not use both contributors"; }
  ls "$WORK/cache-c1"/*.gguf >/dev/null 2>&1 || fail "c1 did not pull its blocks from the deployer"
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
  rm -rf "$WORK"/cache-c*
}

# Llama 3 (8,192 positions) and Phi-3 (4,096): about 11 and 7 MB a block; Qwen2 (32,768): 35 MB.
distributed 0.012 llama3-rope500k-sharpqk-s3 phi3-fused-s2
distributed 0.045 qwen2-bias-s1 qwen2-bias-tied-s5
echo "families_oracle: every family gives llama.cpp's ids in one process, the demo and two contributor processes"

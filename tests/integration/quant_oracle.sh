#!/usr/bin/env bash
# Quantised files computed on natively give llama.cpp's greedy ids: every stories260K and
# TinyStories-656K file of ../shared/models/quant through `llamps generate` (ids from
# reference_ids.tsv, which llama.cpp made), one through the embedded demo, and one through a
# registry and three contributor processes on loopback.
# usage: quant_oracle.sh LLAMPS_BINARY SOURCE_DIR BUILD_DIR
set -uo pipefail
source "$(dirname "$0")/lib.bash" "$@"
QUANT=$SRC/../shared/models/quant
[[ -f $QUANT/reference_ids.tsv ]] || { echo "skip: $QUANT not found"; exit 77; }
failures=0
# The reference ids of FILE for PROMPT (a JSON string, as in the table).
reference() { awk -F'\t' -v f="$1" -v p="$2" '$2 == f && $4 == p { print $7 }' "$QUANT/reference_ids.tsv"; }
steps_of() { awk -F'\t' -v f="$1" -v p="$2" '$2 == f && $4 == p { print $3 }' "$QUANT/reference_ids.tsv"; }
path_of() { find "$QUANT" -name "$1" | head -n 1; }

# 1. One process, every file and prompt of the two real models (the random-weight kq model's
# margins are too thin for ids: test_quant compares its logits instead).
while IFS=$'\t' read -r group file npos prompt _; do
  [[ $group == stories260K || $group == tinystories656K ]] || continue
  [[ $file == *-dequant.gguf || $file == stories260K.gguf ]] && continue
  text=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1]))' "$prompt")
  got=$("$LLAMPS" generate --model "$(path_of "$file")" --temperature 0 --steps "$npos" --threads 2 \
          --ids --prompt "$text" 2>"$WORK/gen.err" | tail -n 1)
  want=$(reference "$file" "$prompt")
  if [[ $got != "$want" ]]; then
    echo "FAIL: generate $file $prompt"; echo "  got  $got"; echo "  want $want"; cat "$WORK/gen.err"
    failures=$((failures + 1))
  fi
done < <(tail -n +2 "$QUANT/reference_ids.tsv")

# 2. The embedded demo (three block hosts in one process).
Q5=$(path_of s260k-q5_0.gguf)
got=$("$LLAMPS" demo --model "$Q5" --prompt "One day, Tom" --steps 48 --ids 2>"$WORK/demo.err" | tail -n 1)
want=$(reference s260k-q5_0.gguf '"One day, Tom"')
[[ $got == "$want" ]] || { echo "FAIL: demo: got '$got', want '$want'"; cat "$WORK/demo.err"; failures=$((failures + 1)); }

# 3. A registry and three contributors: blocks of the Q4_0 file spread over all three.
Q4=$(path_of s260k-q4_0.gguf)
REG_PORT=$(free_port)
start_node registry "$LLAMPS" node --role registry --listen 127.0.0.1:$REG_PORT --heartbeat-ms 300
wait_for_line "$WORK/registry.log" "registry listening"
for i in 0 1 2; do
  port=$(free_port)
  start_node "c$i" "$LLAMPS" node --role contributor --node-id "c$i" --listen 127.0.0.1:$port \
    --registry 127.0.0.1:$REG_PORT --share-memory-gb 0.0026 --share-cores 1 \
    --cache-dir "$WORK/cache$i" --heartbeat-ms 300
  wait_for_line "$WORK/c$i.log" "contributor listening"
done
cat >"$WORK/script" <<SCRIPT
deploy $Q4 --sessions 2
deployments
generate --temperature 0 --steps 48 --ids One day, Tom
generate --temperature 0 --steps 48 --ids Once upon a time
SCRIPT
"$LLAMPS" shell --connect 127.0.0.1:$REG_PORT <"$WORK/script" >"$WORK/shell.out" 2>"$WORK/shell.err" ||
  { cat "$WORK/shell.out" "$WORK/shell.err"; fail "shell script failed"; }
ids=$(grep -E '^1( [0-9]+)+$' "$WORK/shell.out")
for n in 1 2; do
  prompt=$([[ $n == 1 ]] && echo '"One day, Tom"' || echo '"Once upon a time"')
  got=$(echo "$ids" | sed -n "${n}p")
  want=$(reference s260k-q4_0.gguf "$prompt")
  [[ $got == "$want" ]] || { echo "FAIL: three nodes, $prompt: got '$got', want '$want'"; failures=$((failures + 1)); }
done
for c in c0 c1 c2; do
  grep -q "$c\[" "$WORK/shell.out" || { cat "$WORK/shell.out"; echo "FAIL: $c holds no blocks"; failures=$((failures + 1)); }
done

[[ $failures -eq 0 ]] || fail "$failures case(s) differ from llama.cpp"
echo "quant_oracle: every quantised file gives llama.cpp's greedy ids"

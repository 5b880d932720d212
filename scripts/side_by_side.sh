#!/usr/bin/env bash
# LLaMPS beside llama.cpp on the same files in one sitting (docs/benchmarks.md, issue 10): per
# type, `llamps bench`, `llama-bench`, llama-bench over three rpc-servers on loopback, and
# `llamps bench-cluster` (three node processes), and 16 concurrent completions against
# `llama-server -np 16` (scripts/llama_server_clients.py). The files are DIR/tl-TYPE.gguf: make them with
#   llamps make-model --preset tinyllama-1.1b --out DIR/tl-f32.gguf
#   llama-quantize DIR/tl-f32.gguf DIR/tl-TYPE.gguf TYPE 2
# and llama.cpp with ../shared/peers/build-llama-cpp.sh (LLAMA_BIN is its build/bin).
# Usage: scripts/side_by_side.sh DIR LLAMA_BIN [TYPE...]   (default types: f16 q8_0 q4_0 q4_k_m)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: side_by_side.sh DIR LLAMA_BIN [TYPE...]}
bin=${2:?usage: side_by_side.sh DIR LLAMA_BIN [TYPE...]}
shift 2
types=("$@")
[ ${#types[@]} -gt 0 ] || types=(f16 q8_0 q4_0 q4_k_m)
llamps=${LLAMPS:-$here/build/llamps}
threads=${THREADS:-2}
rpc_ports=(50061 50062 50063)
server_port=8093
stop_peers() {
  pkill -f "rpc-server -p 5006[123]" 2>/dev/null || true
  pkill -f "llama-server .*--port $server_port" 2>/dev/null || true
}
trap stop_peers EXIT
# 16 clients at once against llama-server -np 16, once it answers /health.
server_16() {
  "$bin/llama-server" -m "$1" -t "$threads" -np 16 -c 8192 --port "$server_port" >/dev/null 2>&1 &
  for _ in $(seq 120); do
    curl -sf "http://127.0.0.1:$server_port/health" >/dev/null 2>&1 && break
    sleep 0.5
  done
  echo -n "llama-server -np 16: "
  python3 "$here/scripts/llama_server_clients.py" "$server_port" 16 32
  stop_peers
  sleep 1
}
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs) | flags: $(grep -m1 '^flags' /proc/cpuinfo | grep -oE 'avx2|fma|f16c|avx512f|avx512_vnni|amx_int8' | sort -u | xargs)"
for t in "${types[@]}"; do
  f=$dir/tl-$t.gguf
  [ -f "$f" ] || { echo "side_by_side: no $f" >&2; exit 2; }
  echo "=== $t $(date +%T)"
  "$llamps" bench --model "$f" --threads "$threads" --prompt-tokens 32 --decode-tokens 32 --batch 16 --runs 1 2>&1 |
    grep -E 'kernels|^prefill|^decode \(|weight traffic'
  "$bin/llama-bench" -m "$f" -t "$threads" -p 32 -n 32 -r 2 2>&1 | grep -E 'pp32|tg32'
  for p in "${rpc_ports[@]}"; do "$bin/rpc-server" -p "$p" -m 3000 >/dev/null 2>&1 & done
  sleep 2
  echo "llama.cpp over 3 rpc-servers:"
  "$bin/llama-bench" -m "$f" -t "$threads" -p 32 -n 32 -r 2 \
    --rpc "$(printf '127.0.0.1:%s,' "${rpc_ports[@]}" | sed 's/,$//')" 2>&1 | grep -E 'pp32|tg32'
  stop_peers
  sleep 1
  server_16 "$f"
  "$llamps" bench-cluster --model "$f" --hop-hidden 0 --sessions 16 --tokens 32 --cpu-priority normal 2>&1 |
    grep -E '^\| \((a|b)\)'
done
echo "=== end $(date +%T)"

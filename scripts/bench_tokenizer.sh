#!/usr/bin/env bash
# Tokenizer speed: `llamps tokenize` on 100 KiB of text with a vocabulary, beside llama.cpp's
# llama-tokenize on the same file (best of RUNS runs each; both parse special tokens and add
# BOS, so their ids are the same, which is checked).
# With a llama.cpp source tree and build at $LLAMA_CPP (default /tmp/llama.cpp), its vocabulary
# load and llama_tokenize are also timed inside the process, as --timings does for llamps.
# usage: scripts/bench_tokenizer.sh [LLAMPS] [VOCAB] [LLAMA_TOKENIZE] [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
llamps=${1:-$here/build/llamps}
vocab=${2:-$here/../shared/models/families/vocab/ggml-vocab-llama3.gguf}
peer=${3:-/tmp/llama.cpp/build/bin/llama-tokenize}
runs=${4:-7}
llama_cpp=${LLAMA_CPP:-/tmp/llama.cpp}
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
# The text: the reference corpus's strings, one per line, over and over, cut to 100 KiB at a
# character boundary.
python3 - "$here/../shared/models/families/tokenizer/corpus.jsonl" "$work/text.txt" <<'PY'
import json, sys
texts = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
out, i = "", 0
while len(out.encode()) < 102400:
    out += texts[i % len(texts)] + "\n"; i += 1
data = out.encode()[:102400].decode("utf-8", "ignore").encode()
open(sys.argv[2], "wb").write(data)
PY
printf 'x' >"$work/one.txt"
best() { # best wall time in ms of RUNS runs of a command
  python3 - "$runs" "$@" <<'PY'
import subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
t = []
for _ in range(runs):
    t0 = time.perf_counter(); subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    t.append(time.perf_counter() - t0)
print(f"{min(t) * 1000:.0f}")
PY
}
echo "text: $(wc -c <"$work/text.txt") bytes; vocabulary: $vocab"
inner=$(for _ in $(seq "$runs"); do "$llamps" tokenize --model "$vocab" --file "$work/text.txt" --special --timings 2>&1 >/dev/null; done |
  awk '{l=$2; e=$5; if (!n || l<bl) bl=l; if (!n || e<be) be=e; n++; tok=$9} END {printf "load %s ms, encode %s ms, %s tokens", bl, be, tok}')
echo "llamps tokenize, inside the process (best of $runs): $inner"
echo "llamps tokenize, whole process: 100 KiB $(best "$llamps" tokenize --model "$vocab" --file "$work/text.txt" --special) ms," \
     "1 byte $(best "$llamps" tokenize --model "$vocab" --file "$work/one.txt" --special) ms," \
     "llamps --version $(best "$llamps" --version) ms"
if [ -x "$peer" ]; then
  "$peer" -m "$vocab" -f "$work/text.txt" --ids --log-disable 2>/dev/null | tr -d '[],' | tr ' ' '\n' | grep . >"$work/peer.ids"
  "$llamps" tokenize --model "$vocab" --file "$work/text.txt" --special | tr ' ' '\n' | grep . >"$work/ours.ids"
  cmp -s "$work/peer.ids" "$work/ours.ids" && same="same ids" || same="IDS DIFFER"
  echo "llama-tokenize, whole process: 100 KiB $(best "$peer" -m "$vocab" -f "$work/text.txt" --ids --log-disable) ms," \
       "1 byte $(best "$peer" -m "$vocab" -f "$work/one.txt" --ids --log-disable) ms ($same)"
fi
if [ -f "$llama_cpp/include/llama.h" ] && [ -f "$llama_cpp/build/bin/libllama.so" ]; then
  cat >"$work/peer_timing.cpp" <<'CPP'
#include "llama.h"
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
static void quiet(ggml_log_level, const char*, void*) {}
int main(int argc, char** argv) {
  llama_log_set(quiet, nullptr);
  std::ifstream in(argv[2], std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  auto t0 = std::chrono::steady_clock::now();
  llama_model_params mp = llama_model_default_params();
  mp.vocab_only = true;
  llama_model* m = llama_model_load_from_file(argv[1], mp);
  const llama_vocab* v = llama_model_get_vocab(m);
  auto t1 = std::chrono::steady_clock::now();
  std::vector<llama_token> out(text.size() + 16);
  int n = llama_tokenize(v, text.data(), int32_t(text.size()), out.data(), int32_t(out.size()), true, true);
  auto t2 = std::chrono::steady_clock::now();
  std::printf("load %.1f ms, encode %.1f ms: %zu bytes, %d tokens\n",
              std::chrono::duration<double, std::milli>(t1 - t0).count(),
              std::chrono::duration<double, std::milli>(t2 - t1).count(), text.size(), n);
}
CPP
  g++ -O2 -std=c++17 -I"$llama_cpp/include" -I"$llama_cpp/ggml/include" "$work/peer_timing.cpp" -o "$work/peer_timing" \
    -L"$llama_cpp/build/bin" -lllama -lggml -lggml-base -Wl,-rpath,"$llama_cpp/build/bin"
  inner=$(for _ in $(seq "$runs"); do "$work/peer_timing" "$vocab" "$work/text.txt"; done |
    awk '{l=$2; e=$5; if (!n || l<bl) bl=l; if (!n || e<be) be=e; n++; tok=$9} END {printf "load %s ms, encode %s ms, %s tokens", bl, be, tok}')
  echo "llama.cpp, inside the process (best of $runs): $inner"
fi

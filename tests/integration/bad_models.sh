#!/usr/bin/env bash
# `llamps inspect` on missing and corrupted models: each must exit non-zero with exactly one
# line on stderr naming the file, and never abort or dump core.
# usage: bad_models.sh LLAMPS_BINARY SOURCE_DIR BUILD_DIR
set -uo pipefail
llamps=$1 src=$2 build=$3
real=$src/../shared/models/stories260K.gguf
[[ -f $real ]] || { echo "skip: $real not found"; exit 77; }
[[ -x $llamps ]] || { echo "FAIL: $llamps is not an executable"; exit 1; }
tmp=$build/test-tmp/bad_models
rm -rf "$tmp" && mkdir -p "$tmp"
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Writes bytes (printf escapes) at an offset of a copy of the real model.
patch_copy() { # NAME OFFSET BYTES
  cp "$real" "$tmp/$1" && chmod u+w "$tmp/$1"
  printf "$3" | dd of="$tmp/$1" bs=1 seek="$2" conv=notrunc status=none
}

expect_clean_error() { # FILE WORD
  local file=$1 word=$2 rc
  "$llamps" inspect --model "$file" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  local lines
  lines=$(wc -l <"$tmp/err")
  # main() turns every exception into exit code 1; >= 128 would be a signal (abort, segfault).
  if [[ $rc -ne 1 ]]; then fail "$file: exit code $rc (expected 1)"; fi
  if [[ $lines -ne 1 ]]; then fail "$file: $lines lines on stderr"; cat "$tmp/err"; fi
  if ! grep -qF "$(basename "$file")" "$tmp/err"; then fail "$file: stderr does not name the file"; fi
  if ! grep -qF "$word" "$tmp/err"; then fail "$file: stderr lacks '$word'"; fi
  if grep -qiE 'terminate|abort|core dump' "$tmp/err"; then fail "$file: abnormal end"; fi
  echo "ok ($rc): $(cat "$tmp/err")"
}

size=$(stat -c %s "$real")
expect_clean_error "$tmp/missing.gguf" "No such file"
: >"$tmp/empty.gguf"; expect_clean_error "$tmp/empty.gguf" "too small"
expect_clean_error "$tmp" "not a regular file"
patch_copy magic.gguf 0 'GGML'; expect_clean_error "$tmp/magic.gguf" "magic"
patch_copy v1.gguf 4 '\x01'; expect_clean_error "$tmp/v1.gguf" "version 1"
patch_copy v4.gguf 4 '\x04'; expect_clean_error "$tmp/v4.gguf" "version 4"
patch_copy count.gguf 15 '\x7f'; expect_clean_error "$tmp/count.gguf" "tensor count"
for cut in 10 100 5000 14000 20000 $((size - 1)); do
  head -c "$cut" "$real" >"$tmp/cut-$cut.gguf"
  expect_clean_error "$tmp/cut-$cut.gguf" "cut-$cut.gguf"
done
# Architecture: overwrite "llama" (the value of general.architecture) with "gpt2x".
off=$(grep -obaF 'general.architecture' "$real" | head -1 | cut -d: -f1)
patch_copy arch.gguf $((off + 20 + 4 + 8)) 'gpt2x'
expect_clean_error "$tmp/arch.gguf" "architecture 'gpt2x' is not supported"

# The same command on good models works.
"$llamps" inspect --model "$real" >"$tmp/out" 2>"$tmp/err" || fail "inspect of the real model failed: $(cat "$tmp/err")"
grep -q "identity" "$tmp/out" || fail "inspect output lacks the identity"
"$llamps" make-model --preset tiny --blocks 2 --type q8_0 --out "$tmp/tiny.gguf" >/dev/null 2>"$tmp/err" ||
  fail "make-model failed: $(cat "$tmp/err")"
"$llamps" inspect --model "$tmp/tiny.gguf" --tensors >"$tmp/out" 2>"$tmp/err" || fail "inspect of tiny failed: $(cat "$tmp/err")"
grep -q "blk.1.ffn_down.weight" "$tmp/out" || fail "inspect --tensors lacks the tensor table"

[[ $failures -eq 0 ]] && echo "all bad-model checks passed"
exit $((failures > 0))

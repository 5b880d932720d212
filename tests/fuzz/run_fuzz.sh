#!/usr/bin/env bash
# Builds and runs one libFuzzer target for a bounded time.
# usage: run_fuzz.sh NAME SRC_DIR BUILD_DIR
# The target tests/fuzz/NAME.cpp lists the torch-free sources it needs on a line
# "// FUZZ_SOURCES: a.cpp b.cpp" (paths relative to SRC_DIR). Exit 77 = skipped (no clang or
# no libFuzzer), non-zero = the build failed or the fuzzer found a crash.
set -euo pipefail
name=$1 src=$(cd "$2" && pwd) build=$(cd "$3" && pwd)
target_src=$src/tests/fuzz/$name.cpp
out=$build/fuzz
bin=$out/$name
mkdir -p "$out"

cxx=${LLAMPS_FUZZ_CXX:-}
for c in clang++-14 clang++; do
  [[ -z $cxx ]] && command -v "$c" >/dev/null && cxx=$c
done
[[ -z $cxx ]] && { echo "skip: no clang++"; exit 77; }
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)

# libFuzzer ships separately from clang on some systems: probe once.
probe=$out/.probe.cpp
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' > "$probe"
if ! "$cxx" "${flags[@]}" "$probe" -o "$out/.probe" 2>/dev/null; then
  echo "skip: $cxx cannot link -fsanitize=fuzzer (libFuzzer missing)"; exit 77
fi

read -r -a sources <<< "$(sed -n 's|^// FUZZ_SOURCES:||p' "$target_src")"
# Libraries a target links, from a line "// FUZZ_LIBS: -lfoo" (default: libcrypto).
read -r -a libs <<< "$(sed -n 's|^// FUZZ_LIBS:||p' "$target_src")"
[[ ${#libs[@]} -eq 0 ]] && libs=(-lcrypto)
paths=("$target_src")
for s in "${sources[@]}"; do paths+=("$src/$s"); done
# Rebuild when the target, a listed source or any header they may include is newer.
if [[ ! -x $bin ]] || [[ -n $(find "${paths[@]}" "$src/model" "$src/actors" -name '*.[ch]pp' -newer "$bin" 2>/dev/null | head -1) ]]; then
  echo "building $bin"
  "$cxx" "${flags[@]}" -I "$src" "${paths[@]}" "${libs[@]}" -o "$bin.tmp"
  mv "$bin.tmp" "$bin"
fi

# Seeds: the real model, its header alone (metadata paths without 1 MB inputs), and a
# generated tiny model when the llamps binary is there.
corpus=$out/corpus-$name
mkdir -p "$corpus"
real=$src/../shared/models/stories260K.gguf
if [[ -f $real ]]; then
  cp -f "$real" "$corpus/seed-real.gguf"
  head -c 16384 "$real" > "$corpus/seed-real-header.gguf"
fi
if [[ -x $build/llamps && ! -f $corpus/seed-tiny.gguf ]]; then
  "$build/llamps" make-model --preset tiny --blocks 1 --type q8_0 --out "$corpus/seed-tiny.gguf" >/dev/null || true
fi

exec "$bin" "$corpus" -max_total_time="${LLAMPS_FUZZ_SECONDS:-60}" -rss_limit_mb=2048 -timeout=20 \
  -artifact_prefix="$out/$name-" -print_final_stats=1

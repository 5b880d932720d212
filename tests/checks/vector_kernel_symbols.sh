#!/usr/bin/env bash
# The vector kernels are compiled with instructions the CPU may lack (model/quant/dot_avx2.cpp
# and tiles_avx.cpp, each built for AVX2 and for AVX-512 VNNI) and are called only after asking
# the CPU. An inline function or template they instantiate would be a weak symbol the linker
# may pick for the whole program, putting AVX-512 code on every path of an AVX2-only machine.
# So their object files must define no weak (W, V) or unique (u) symbols.
# Usage: vector_kernel_symbols.sh OBJECT...   (other objects in the list are ignored)
set -euo pipefail
checked=0 bad=0
for object in "$@"; do
  [[ $object == *dot_avx2.cpp.o || $object == *tiles_avx.cpp.o ]] || continue
  checked=$((checked + 1))
  shared=$(nm -C --defined-only "$object" | awk '$2 ~ /^[WVu]$/')
  if [[ -n $shared ]]; then
    echo "$object defines symbols other objects may share:"
    echo "$shared"
    bad=1
  fi
done
[[ $checked -ge 4 ]] || { echo "expected the AVX2 and the VNNI objects of dot_avx2.cpp and tiles_avx.cpp, found $checked"; exit 1; }
echo "checked $checked vector-kernel objects: no shared symbols"
exit $bad

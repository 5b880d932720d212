#!/usr/bin/env bash
# The C++ sources are as clang-format (.clang-format at the root) writes them.
# Usage: format.sh SOURCE_DIR. Exit 77 (skipped) without clang-format.
set -euo pipefail
cd "$1"
command -v clang-format >/dev/null || { echo "clang-format not installed: skipped"; exit 77; }
bad=0
while IFS= read -r f; do
  if ! clang-format --dry-run --Werror "$f" 2>/dev/null; then
    echo "not formatted: $f (clang-format -i $f)"
    bad=1
  fi
done < <(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find actors model runtime tests examples -name '*.[ch]pp')
exit $bad

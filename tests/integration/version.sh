#!/usr/bin/env bash
# `llamps --version` prints project(VERSION) of CMakeLists.txt and the commit that was built.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"

out=$("$LLAMPS" --version)
echo "$out"
want_version=$(sed -nE 's/^project\(llamps VERSION ([0-9.]+).*/\1/p' "$SRC/CMakeLists.txt")
[[ -n $want_version ]] || fail "no project(VERSION) in CMakeLists.txt"
[[ $out =~ ^llamps\ ([0-9.]+)\ \(commit\ ([0-9a-f]{12}(-dirty)?|unknown)\)$ ]] || fail "unexpected output: $out"
[[ ${BASH_REMATCH[1]} == "$want_version" ]] || fail "version ${BASH_REMATCH[1]}, CMakeLists.txt says $want_version"
if head=$(git -C "$SRC" rev-parse --short=12 HEAD 2>/dev/null); then
  [[ ${BASH_REMATCH[2]%-dirty} == "$head" ]] || fail "commit ${BASH_REMATCH[2]}, the tree is at $head"
fi
[[ $("$LLAMPS" version) == "$out" ]] || fail "'llamps version' differs from --version"
"$LLAMPS" --help | grep -q -- "--version" || fail "--help does not mention --version"
echo "version: ok"

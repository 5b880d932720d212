#!/usr/bin/env bash
# The embedding example (examples/embedded_host_and_session.cpp): its own actor system with a
# registry, two block hosts and a session must produce llamps generate's greedy text.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"
EXAMPLE=$BUILD/embedded_host_and_session
[ -x "$EXAMPLE" ] || fail "example not built: $EXAMPLE"
"$EXAMPLE" "$MODEL" "One day, Tom" >"$WORK/example.out" 2>"$WORK/example.err" ||
  { cat "$WORK/example.err"; fail "example exited non-zero"; }
got=$(head -n 1 "$WORK/example.out")
want=$("$LLAMPS" generate --model "$MODEL" --prompt "One day, Tom" --temperature 0 --steps 64 2>/dev/null | head -n 1)
[ "One day, Tom$got" = "$want" ] || fail "example text '$got' differs from llamps generate '$want'"
grep -q "host-a -> host-b" "$WORK/example.out" || fail "no route line"
echo "example_embedded: same text as llamps generate"

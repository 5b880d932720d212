#!/usr/bin/env bash
# The README's main job: `llamps demo` (registry, three contributors, planner, deployer and a
# session in one process) must print the oracle's greedy ids, the servers and the plan.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"
cd "$SRC" # the demo finds ../shared/models/stories260K.gguf from the repository's root

"$LLAMPS" demo --prompt "One day, Tom" --steps 48 --ids >"$WORK/tom.out" 2>"$WORK/tom.err" ||
  { cat "$WORK/tom.out" "$WORK/tom.err"; fail "demo exited non-zero"; }
[ "$(tail -n 1 "$WORK/tom.out")" = "$(oracle_ids 2)" ] || { cat "$WORK/tom.out"; fail "demo ids differ from the oracle"; }
for what in "Available servers" "alpha" "beta" "gamma" "plan for stories260K" "ready" "route: alpha -> beta -> gamma"; do
  grep -q "$what" "$WORK/tom.out" || fail "demo output lacks '$what'"
done

"$LLAMPS" demo --prompt "" --steps 40 --ids >"$WORK/none.out" 2>/dev/null || fail "demo without a prompt failed"
[ "$(tail -n 1 "$WORK/none.out")" = "$(oracle_ids 1)" ] || fail "demo (no prompt) ids differ from the oracle"

# A model that is not a GGUF file: one clear line, non-zero exit.
echo "not a model" >"$WORK/bad.gguf"
if "$LLAMPS" demo --model "$WORK/bad.gguf" >"$WORK/bad.out" 2>"$WORK/bad.err"; then fail "demo accepted a bad model"; fi
grep -q "bad.gguf" "$WORK/bad.err" || { cat "$WORK/bad.err"; fail "the error does not name the file"; }
echo "demo_oracle: the embedded demo prints the oracle ids"

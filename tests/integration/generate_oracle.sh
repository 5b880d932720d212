#!/usr/bin/env bash
# `llamps generate` greedy on the real test model must print the oracle's ids (parsed from
# the shared README, not copied here) as its last stdout line; a prompt longer than the
# context must exit non-zero with one clear line on stderr.
# usage: generate_oracle.sh LLAMPS_BINARY SOURCE_DIR BUILD_DIR
set -uo pipefail
source "$(dirname "$0")/lib.bash" "$@"
[[ -f $MODEL ]] || { echo "skip: $MODEL not found"; exit 77; }
[[ -x $LLAMPS ]] || fail "$LLAMPS is not an executable"
failures=0
check() { # NAME GOT WANT
  if [[ "$2" != "$3" ]]; then
    echo "FAIL: $1: got '$2', oracle '$3'"
    failures=$((failures + 1))
  fi
}

want_none=$(oracle_ids 1)
want_tom=$(oracle_ids 2)
[[ -n $want_none && -n $want_tom ]] || fail "no oracle ids found in $ORACLE_README"

got=$("$LLAMPS" generate --model "$MODEL" --temperature 0 --steps 40 --threads 2 --ids 2>"$WORK/err1" | tail -n 1)
check "no prompt, --steps 40" "$got" "$want_none"
got=$("$LLAMPS" generate --model "$MODEL" --temperature 0 --steps 48 --threads 2 --ids \
        --prompt "One day, Tom" 2>"$WORK/err2" | tail -n 1)
check "prompt 'One day, Tom', --steps 48" "$got" "$want_tom"
grep -q "tokens/s" "$WORK/err2" || { echo "FAIL: no stats line on stderr"; failures=$((failures + 1)); }

# 2,400 words: far more tokens than the 2,048 positions of the context.
long=$(printf 'Once upon a time %.0s' $(seq 600))
"$LLAMPS" generate --model "$MODEL" --temperature 0 --prompt "$long" >"$WORK/out3" 2>"$WORK/err3"
rc=$?
lines=$(wc -l <"$WORK/err3")
if [[ $rc -ne 1 ]]; then echo "FAIL: over-long prompt: exit code $rc (expected 1)"; failures=$((failures + 1)); fi
if [[ $lines -ne 1 ]] || ! grep -q "context" "$WORK/err3"; then
  echo "FAIL: over-long prompt: expected one line naming the context, got:"; cat "$WORK/err3"
  failures=$((failures + 1))
fi

[[ $failures -eq 0 ]] && echo "generate_oracle: ok"
exit $((failures > 0))

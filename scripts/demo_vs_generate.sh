#!/usr/bin/env bash
# The in-process chain's cost: `llamps demo` (registry, three contributors, three block hosts,
# a session, all in one process) against `llamps generate` (the same model in one loop), both
# greedy on stories260K with the same prompt, alternated ROUNDS times; prints each one's
# median decode rate and demo / generate, with the CPU beside them.
# Usage: scripts/demo_vs_generate.sh [LLAMPS_BINARY] [ROUNDS] [STEPS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
llamps=${1:-$here/build/llamps}
rounds=${2:-10}
steps=${3:-64}
model=$here/../shared/models/stories260K.gguf
prompt="Once upon a time"
[ -f "$model" ] || { echo "demo_vs_generate: no $model" >&2; exit 2; }
decode_rate() { sed -nE 's/.*decode [0-9]+ tokens in [0-9.]+ ms \(([0-9.]+) tokens\/s\).*/\1/p; s/.*decode ([0-9.]+) tokens\/s.*/\1/p' | tail -n 1; }
gen=() demo=()
for _ in $(seq "$rounds"); do
  gen+=("$("$llamps" generate --model "$model" --prompt "$prompt" --steps "$steps" 2>&1 >/dev/null | decode_rate)")
  demo+=("$(cd "$here" && "$llamps" demo --model "$model" --prompt "$prompt" --steps "$steps" 2>&1 >/dev/null | decode_rate)")
done
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs) | flags: $(grep -m1 '^flags' /proc/cpuinfo | grep -oE 'avx2|fma|f16c|avx512f|avx512_vnni' | sort -u | xargs)"
python3 - "$steps" "${gen[*]}" "${demo[*]}" <<'PY'
import statistics, sys
steps, gen, demo = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
g, d = statistics.median(gen), statistics.median(demo)
print(f"stories260K, {steps} positions, {len(gen)} rounds each: generate {g:.0f} tok/s (range {min(gen):.0f}-{max(gen):.0f}), "
      f"demo {d:.0f} tok/s (range {min(demo):.0f}-{max(demo):.0f}), demo / generate {d / g:.2f}")
PY

#!/usr/bin/env bash
# A quantised model costs its bytes in the file, not an F32 copy: the peak RSS of `llamps
# generate` on an 85 MB Q8_0 model (one hidden-4096 block) stays within 1.1 x (its tensors'
# bytes + the KV it caches) of the process's fixed overhead, which is the peak RSS of the same
# command on the 1 MB stories260K (CAF and the rest of the binary).
# usage: quant_memory.sh LLAMPS_BINARY SOURCE_DIR BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"
[[ -f $MODEL ]] || { echo "skip: $MODEL not found"; exit 77; }
"$LLAMPS" make-model --preset hop-4096 --blocks 1 --type q8_0 --out "$WORK/q8.gguf" >/dev/null
python3 - "$LLAMPS" "$MODEL" "$WORK/q8.gguf" <<'PY'
import os, resource, subprocess, sys
llamps, small, q8 = sys.argv[1:]
def peak_rss(model):
    # A fresh child each time: ru_maxrss of RUSAGE_CHILDREN is the largest child's peak.
    pid = os.fork()
    if pid == 0:
        os.execv(llamps, [llamps, "generate", "--model", model, "--steps", "16", "--threads", "2",
                          "--temperature", "0", "--prompt", "Once upon a time"])
    _, status, usage = os.wait4(pid, 0)
    if status != 0:
        sys.exit(f"FAIL: llamps generate --model {model} exited with status {status}")
    return usage.ru_maxrss * 1024
out = subprocess.run([llamps, "inspect", "--model", q8], capture_output=True, text=True, check=True).stdout
size = os.path.getsize(q8)
kv_per_token = int(next(l for l in out.splitlines() if l.startswith("KV cache")).split()[2])
kv = kv_per_token * 1 * 32  # one block, the cache's capacity for 16 steps (grown to 32)
base, model = peak_rss(small), peak_rss(q8)
bound = 1.1 * (size + kv)
print(f"fixed overhead (stories260K) {base / 1e6:.0f} MB; Q8_0 model {model / 1e6:.0f} MB; "
      f"file {size / 1e6:.1f} MB, KV {kv / 1e6:.2f} MB; growth {(model - base) / 1e6:.1f} MB, bound {bound / 1e6:.1f} MB")
if model - base > bound:
    sys.exit("FAIL: the quantised model takes more memory than its bytes")
# An F32 copy of the weights would be 3.8 x the file: make sure the bound would catch one.
assert 3.7 * size > bound
PY
echo "quant_memory: a quantised model's memory is its file's bytes"

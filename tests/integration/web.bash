# Helpers for the HTTP tests (sourced after lib.bash, not run: no test of its own):
# the npm packages of tests/web/, a demo serving HTTP, and the greedy reference text.
WEB=$SRC/tests/web
KEY=test-key-$$
AUTH=(-H "Authorization: Bearer $KEY")

skip() { echo "skip: $*"; exit 77; }

# node, npm and tests/web/node_modules (npm ci from the committed lock file, once).
need_node_packages() {
  command -v node >/dev/null && command -v npm >/dev/null || skip "node and npm are not installed (scripts/install-deps.sh)"
  (
    flock 9
    [ -d "$WEB/node_modules/openai" ] && [ -d "$WEB/node_modules/playwright-core" ] ||
      (cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error)
  ) 9>"${TMPDIR:-/tmp}/llamps-npm-ci.lock" || skip "npm ci failed in $WEB (no access to the npm registry?)"
}

# Starts `llamps demo --http` on a free port with an API key; sets BASE. Extra args go to demo.
start_demo_http() {
  [ -f "$MODEL" ] || skip "no test model at $MODEL"
  local port
  port=$(free_port)
  BASE=http://127.0.0.1:$port
  start_node demo "$LLAMPS" demo --model "$MODEL" --steps 16 --http 127.0.0.1:$port --api-key "$KEY" "$@"
  wait_for_line "$WORK/demo.log" "serving the web page" 120
}

# A JSON field of stdin: json_get 'expression over d' (Python), e.g. json_get 'd["usage"]["prompt_tokens"]'.
json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# The single-process greedy continuation of PROMPT (PROMPT_TOKENS ids with BOS) with exactly
# NEW generated tokens: `llamps generate` is the reference the cluster must match. Its --steps
# counts positions; the ids line tells how many tokens that gave, so the count is checked
# (and corrected once) rather than assumed.
greedy_reference() {
  local prompt=$1 prompt_tokens=$2 new=$3
  python3 - "$LLAMPS" "$MODEL" "$prompt" "$prompt_tokens" "$new" <<'PY' || fail "llamps generate failed"
import subprocess, sys
llamps, model, prompt, prompt_tokens, new = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
def run(steps):
    out = subprocess.run([llamps, "generate", "--model", model, "--temperature", "0", "--steps", str(steps),
                          "--prompt", prompt, "--ids"], check=True, capture_output=True, text=True).stdout
    text, ids = out.rstrip("\n").rsplit("\n", 1)
    return text, len(ids.split()) - prompt_tokens
steps = prompt_tokens + new
text, generated = run(steps)
if generated != new:
    text, generated = run(steps - (generated - new))
assert generated == new, f"llamps generate gave {generated} tokens, wanted {new}"
# Whether or not it echoes the prompt first, the continuation is what follows it.
sys.stdout.write(text[len(prompt):] if text.startswith(prompt) else text)
PY
}

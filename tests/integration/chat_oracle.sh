#!/usr/bin/env bash
# The live chat-template oracle: random conversations (tests/web/chat_oracle.mjs) rendered with
# every published template llamps recognises (tests/data/chat_templates/ and the families
# pack's three) by Python's jinja2 as transformers sets it up, and by @huggingface/jinja 0.5.11
# (transformers.js' engine; npm, installed once into the build dir). `llamps chat-prompt` must
# give jinja2's text for each, except where the template refuses the conversation (Gemma's and
# the first Mistral's raise on a system message: llamps then prepends it to the first user
# turn, docs/chat.md).
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"
skip() { echo "skip: $*"; exit 77; }
command -v node >/dev/null && command -v npm >/dev/null || skip "node and npm are not installed"
FAMILIES=$SRC/../shared/models/families
[ -d "$FAMILIES/chat/templates" ] || skip "no families pack at $FAMILIES"
JINJA=$BUILD/chat-oracle
(
  flock 9
  [ -d "$JINJA/node_modules/@huggingface/jinja" ] ||
    npm install --prefix "$JINJA" --no-audit --no-fund --loglevel=error @huggingface/jinja@0.5.11 >/dev/null
) 9>"${TMPDIR:-/tmp}/llamps-chat-oracle.lock" || skip "npm install @huggingface/jinja failed (no access to the npm registry?)"

COUNT=${LLAMPS_CHAT_ORACLE_COUNT:-60}
node "$SRC/tests/web/chat_oracle.mjs" "$JINJA/node_modules" "$SRC" "$FAMILIES" "$WORK/oracle" "$COUNT" "${LLAMPS_CHAT_ORACLE_SEED:-7}"
for args in "$WORK"/oracle/*.args; do
  name=$(basename "$args" .args)
  read -r path bos eos < <(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); print(a["path"], a["bos"] or "-", a["eos"] or "-")' "$args")
  [ "$bos" = - ] && bos=""
  [ "$eos" = - ] && eos=""
  "$LLAMPS" chat-prompt --template-file "$path" --bos "$bos" --eos "$eos" --input "$WORK/oracle/$name.in.jsonl" \
    >"$WORK/oracle/$name.got.jsonl" || true # a refused role would show in the comparison below
done
python3 - "$WORK/oracle" <<'PY'
import glob, json, os, sys
try:
    from jinja2.exceptions import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment
except ImportError:
    print("skip: Python's jinja2 is not installed (python3-jinja2, scripts/install-deps.sh)")
    sys.exit(77)
# As transformers renders a chat template (its _compile_jinja_template).
def raise_exception(message):
    raise TemplateError(message)
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
env.globals["raise_exception"] = raise_exception
same, engines_differ, refused, failures = 0, [], 0, []
for args_path in sorted(glob.glob(os.path.join(sys.argv[1], "*.args"))):
    name = os.path.basename(args_path)[:-len(".args")]
    args = json.load(open(args_path))
    template = env.from_string(open(args["path"]).read())
    read = lambda kind: [json.loads(l) for l in open(os.path.join(sys.argv[1], f"{name}.{kind}.jsonl"))]
    inputs, wants, gots = read("in"), read("want"), read("got")
    assert len(gots) == len(inputs), f"{name}: {len(gots)} answers for {len(inputs)} conversations"
    for conversation, js, got in zip(inputs, wants, gots):
        try:
            py = template.render(**conversation, bos_token=args["bos"], eos_token=args["eos"])
        except TemplateError:
            py = None
        if py != js.get("text"):
            engines_differ.append(f"{name}: {json.dumps(conversation)}\n  jinja2: {json.dumps(py)}\n  @huggingface/jinja: {json.dumps(js)}")
        if py is None:
            refused += 1
        elif got.get("text") == py:
            same += 1
        else:
            failures.append(f"{name}: {json.dumps(conversation)}\n  jinja2: {json.dumps(py)}\n  llamps: {json.dumps(got)}")
# Where the two engines disagree, transformers' own (jinja2) is the reference: the known cases
# are @huggingface/jinja 0.5.11 ignoring the argument of strip/lstrip/rstrip (Qwen3's
# lstrip('\n')) and taking '' != false for false (Llama 2's empty system message).
for f in engines_differ[:3]:
    print("engines differ (jinja2 is the reference):", f)
for f in failures[:10]:
    print("FAIL", f)
print(f"chat oracle: {same} renders equal to jinja2's, {len(failures)} differ, {refused} refused by the template; "
      f"@huggingface/jinja differs from jinja2 on {len(engines_differ)}")
sys.exit(1 if failures else 0)
PY

#!/usr/bin/env bash
# Chat templates end to end, through real processes: random-weight models with Llama 3's
# vocabulary and chat template (make-model --vocab-from), a registry serving the HTTP API and
# one contributor. /v1/chat/completions counts the rendered conversation's tokens as
# `llamps tokenize --special` does; generation stops at the template's end-of-turn token; a stop
# string ends the generation at the session (it stops generating, not just hides the rest); an
# unknown template name is a 400 naming it. The shell's chat feeds only the new tokens on its
# second turn and answers as a fresh session (the API's) does.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"
skip() { echo "skip: $*"; exit 77; }
command -v curl >/dev/null || skip "curl is not installed"
FAMILIES=$SRC/../shared/models/families
VOCAB=$FAMILIES/vocab/ggml-vocab-llama3.gguf
[ -f "$VOCAB" ] || skip "no families pack at $FAMILIES"

json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
post() { curl -s -o "$WORK/out.json" -w '%{http_code}' -H 'Content-Type: application/json' -d "$2" "$BASE$1"; }
post_ok() { [ "$(post "$@")" = 200 ] || fail "POST $1 $2: $(cat "$WORK/out.json")"; cat "$WORK/out.json"; }
tokens_generated() { curl -sf "$BASE/metrics" | awk '$1 == "llamps_tokens_generated_total" { print $2 }'; }

# Untied: varied random text. Tied (the head reuses token_embd): a random model then repeats
# the token it was fed last, so a prompt that ends with <|eot_id|> makes it emit <|eot_id|>.
"$LLAMPS" make-model --preset tiny --blocks 2 --vocab-from "$VOCAB" --out "$WORK/chat3.gguf" >/dev/null
"$LLAMPS" make-model --preset tiny --blocks 2 --vocab-from "$VOCAB" --tied --out "$WORK/chat3tied.gguf" >/dev/null

HTTP_PORT=$(free_port)
BASE=http://127.0.0.1:$HTTP_PORT
start_registry --http 127.0.0.1:$HTTP_PORT
start_contributor c1 1
wait_for_servers 1
run_shell_once "deploy $WORK/chat3.gguf" "deploy $WORK/chat3tied.gguf" | tee "$WORK/deploy.out"
[ "$(grep -c ': ready' "$WORK/deploy.out")" = 2 ] || fail "the deploys failed"

# ---- the prompt is the rendered conversation, tokenized with its special tokens, one BOS ----
python3 - "$FAMILIES/chat/chat_templates.jsonl" "$WORK" <<'PY'
import json, sys
rows = {json.loads(l)["id"]: json.loads(l) for l in open(sys.argv[1])}
row = rows["llama3/system_multi_turn/agp=true"]
json.dump(row["messages"], open(sys.argv[2] + "/messages.json", "w"))
open(sys.argv[2] + "/rendered.txt", "w").write(row["rendered_hf"])
open(sys.argv[2] + "/ids.txt", "w").write(str(len(row["ids_llamacpp_of_rendered"])))
PY
body=$(python3 -c 'import json,sys; print(json.dumps({"model": "chat3", "messages": json.load(open(sys.argv[1])),
  "max_tokens": 4, "temperature": 0}))' "$WORK/messages.json")
PROMPT_TOKENS=$(post_ok /v1/chat/completions "$body" | json_get 'd["usage"]["prompt_tokens"]')
TOKENIZED=$("$LLAMPS" tokenize --model "$WORK/chat3.gguf" --special --no-bos --file "$WORK/rendered.txt" | wc -w)
[ "$PROMPT_TOKENS" = "$TOKENIZED" ] && [ "$PROMPT_TOKENS" = "$(cat "$WORK/ids.txt")" ] ||
  fail "prompt_tokens $PROMPT_TOKENS, but the rendered text is $TOKENIZED tokens (llama.cpp: $(cat "$WORK/ids.txt"))"
echo "ok: the chat prompt is the rendered template: $PROMPT_TOKENS tokens, as tokenize --special and llama.cpp count"

# ---- generation stops at the template's end-of-turn token, which is not shown ----
ended='"messages":[{"role":"user","content":"Hi!"},{"role":"assistant","content":"Hello there."}],"add_generation_prompt":false'
post_ok /v1/chat/completions "{\"model\":\"chat3tied\",$ended,\"chat_template\":\"llama3.1\",\"max_tokens\":8,\"temperature\":0}" >"$WORK/eot.json"
[ "$(json_get 'd["choices"][0]["finish_reason"], d["usage"]["completion_tokens"], repr(d["choices"][0]["message"]["content"])' <"$WORK/eot.json")" = "stop 0 ''" ] ||
  fail "the answer did not end at <|eot_id|>: $(cat "$WORK/eot.json")"
# The same conversation in a template whose end-of-turn token this vocabulary lacks: no stop.
post_ok /v1/chat/completions "{\"model\":\"chat3tied\",$ended,\"chat_template\":\"chatml\",\"max_tokens\":8,\"temperature\":0}" >"$WORK/noeot.json"
[ "$(json_get 'd["choices"][0]["finish_reason"], d["usage"]["completion_tokens"]' <"$WORK/noeot.json")" = "length 8" ] ||
  fail "chatml on a Llama 3 vocabulary should run to max_tokens: $(cat "$WORK/noeot.json")"
echo "ok: generation stops at <|eot_id|> when the model emits it (and only then)"

# ---- a stop string ends the generation at the session ----
chat='"messages":[{"role":"user","content":"Tell me a story."}],"temperature":0'
curl -sfN -H 'Content-Type: application/json' -d "{\"model\":\"chat3\",$chat,\"max_tokens\":12,\"stream\":true}" \
  "$BASE/v1/chat/completions" >"$WORK/stream.txt" || fail "streaming failed"
# The stop string: the text of the first token (after the second) that does not occur earlier.
read -r STOP_AT STOP_JSON < <(python3 - "$WORK/stream.txt" <<'PY'
import json, sys
pieces = [json.loads(l[6:])["choices"][0]["delta"].get("content", "") for l in open(sys.argv[1])
          if l.startswith("data: {") and json.loads(l[6:])["choices"]]
pieces = [p for p in pieces if p]
for k in range(2, len(pieces)):
    before = "".join(pieces[:k])
    if pieces[k].strip() and pieces[k] not in before + pieces[k][:-1]:
        print(k + 1, json.dumps(pieces[k]))
        break
PY
)
[ -n "${STOP_AT:-}" ] || fail "no usable stop string in $(cat "$WORK/stream.txt")"
before=$(tokens_generated)
post_ok /v1/chat/completions "{\"model\":\"chat3\",$chat,\"max_tokens\":40,\"stop\":[$STOP_JSON]}" >"$WORK/stop.json"
after=$(tokens_generated)
[ "$(json_get 'd["choices"][0]["finish_reason"]' <"$WORK/stop.json")" = stop ] || fail "finish_reason: $(cat "$WORK/stop.json")"
[ $((after - before)) = "$STOP_AT" ] ||
  fail "the session generated $((after - before)) tokens; the stop string $STOP_JSON came with token $STOP_AT"
echo "ok: stop $STOP_JSON ended the generation at token $STOP_AT of at most 40"

# ---- an unknown template name: 400 naming it ----
[ "$(post /v1/chat/completions "{\"model\":\"chat3\",$chat,\"chat_template\":\"llama9\"}")" = 400 ] &&
  grep -q "unknown chat template 'llama9'" "$WORK/out.json" || fail "bad template name: $(cat "$WORK/out.json")"
echo "ok: chat_template llama9 -> 400 $(json_get 'd["error"]["message"]' <"$WORK/out.json")"

# ---- the shell's chat: the second turn feeds only the new tokens, and answers as a fresh session ----
printf '%s\n' "chat --model chat3 --temperature 0 --steps 6 --stats" "Capital of France?" "And of Italy?" "" |
  "$LLAMPS" shell --connect 127.0.0.1:$REG_PORT >"$WORK/chat.out" 2>"$WORK/chat.err" || fail "shell: $(cat "$WORK/chat.err")"
python3 - "$WORK/chat.out" "$BASE" <<'PY' || fail "the shell's chat: $(cat "$WORK/chat.out")"
import json, re, sys, urllib.request
out, base = open(sys.argv[1]).read(), sys.argv[2]
def answer(messages):
    body = {"model": "chat3", "messages": messages, "max_tokens": 6, "temperature": 0}
    req = urllib.request.Request(base + "/v1/chat/completions", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    d = json.load(urllib.request.urlopen(req))
    return d["choices"][0]["message"]["content"], d["usage"]["prompt_tokens"]
chat = [{"role": "user", "content": "Capital of France?"}]
a1, p1 = answer(chat)
chat += [{"role": "assistant", "content": a1}, {"role": "user", "content": "And of Italy?"}]
a2, p2 = answer(chat)
stats = r"\[(\d+) prompt tokens, (\d+) of them cached, (\d+) generated\]\n"
m = re.fullmatch(r"chat with chat3: [^\n]*\n" + re.escape(a1) + r"\n" + stats + re.escape(a2) + r"\n" + stats, out, re.S)
assert m, f"the shell's answers differ from fresh sessions' {a1!r}, {a2!r}"
t1_prompt, t1_cached, t1_gen, t2_prompt, t2_cached, t2_gen = map(int, m.groups())
assert (t1_prompt, t1_cached, t2_prompt) == (p1, 0, p2), m.groups()
# Everything of turn 1 that turn 2's rendering repeats token for token is reused: at least the
# whole first prompt (Llama 3's rendering is prefix-stable up to the answer).
assert t2_cached >= t1_prompt, m.groups()
print(f"ok: the shell's chat equals fresh sessions; turn 2 fed {t2_prompt - t2_cached} of {t2_prompt} prompt tokens "
      f"({t2_cached} cached, turn 1's prompt was {t1_prompt})")
PY

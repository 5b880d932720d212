#!/usr/bin/env bash
# The HTTP API of a real `llamps demo --http`, with curl and with an unmodified OpenAI client
# (the `openai` npm package): greedy completions, streaming and not, chat, equal the text of
# `llamps generate`; models; errors with their statuses; limits; the API key; /metrics.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"
source "$(dirname "$0")/web.bash"
command -v curl >/dev/null || skip "curl is not installed"
need_node_packages
start_demo_http

PROMPT="One day, Tom"
NEW=42
# status BODY-FILE ARGS...: the HTTP status of a curl request, its body in BODY-FILE.
status() { local body=$1; shift; curl -s -o "$body" -w '%{http_code}' "$@"; }
expect_error() { # expect_error STATUS WHAT ARGS...
  local want=$1 what=$2; shift 2
  local got
  got=$(status "$WORK/err.json" "$@")
  [ "$got" = "$want" ] || fail "$what: status $got, expected $want ($(cat "$WORK/err.json"))"
  json_get 'd["error"]["message"] and d["error"]["type"]' <"$WORK/err.json" >/dev/null ||
    fail "$what: not a JSON error: $(cat "$WORK/err.json")"
  echo "ok: $what -> $want $(json_get 'd["error"]["message"]' <"$WORK/err.json")"
}
post() { curl -sf "${AUTH[@]}" -H 'Content-Type: application/json' -d "$2" "$BASE$1"; }

# ---- models ----
MODEL_ID=$(curl -sf "${AUTH[@]}" "$BASE/v1/models" | json_get 'd["data"][0]["id"]')
[ "$MODEL_ID" = stories260K ] || fail "/v1/models lists '$MODEL_ID'"

# ---- greedy completion, non-streaming: the reference for everything below ----
body=$(printf '{"model":"%s","prompt":"%s","max_tokens":%d,"temperature":0}' "$MODEL_ID" "$PROMPT" $NEW)
post /v1/completions "$body" >"$WORK/completion.json" || fail "completion failed"
TEXT=$(json_get 'd["choices"][0]["text"]' <"$WORK/completion.json")
PROMPT_TOKENS=$(json_get 'd["usage"]["prompt_tokens"]' <"$WORK/completion.json")
[ "$(json_get 'd["object"]' <"$WORK/completion.json")" = text_completion ] || fail "completion object"
[ "$(json_get 'd["usage"]["completion_tokens"]' <"$WORK/completion.json")" = $NEW ] || fail "usage: $(cat "$WORK/completion.json")"
[ "$(json_get 'd["choices"][0]["finish_reason"]' <"$WORK/completion.json")" = length ] || fail "finish_reason"
WANT=$(greedy_reference "$PROMPT" "$PROMPT_TOKENS" $NEW)
[ "$TEXT" = "$WANT" ] || fail "completion text differs from llamps generate:
  api:      '$TEXT'
  generate: '$WANT'"
echo "ok: greedy completion equals llamps generate: '$TEXT'"

# ---- streaming with curl: OpenAI's chunks, then [DONE] ----
curl -sfN "${AUTH[@]}" -H 'Content-Type: application/json' \
  -d "${body%\}},\"stream\":true}" "$BASE/v1/completions" >"$WORK/stream.txt" || fail "streaming failed"
tail -n 2 "$WORK/stream.txt" | head -n 1 | grep -qx 'data: \[DONE\]' || fail "stream does not end with [DONE]"
STREAMED=$(python3 -c 'import json,sys
text = ""
for line in open(sys.argv[1]):
    if line.startswith("data: ") and line.strip() != "data: [DONE]":
        chunk = json.loads(line[6:])
        assert chunk["object"] == "text_completion", chunk
        text += chunk["choices"][0]["text"]
sys.stdout.write(text)' "$WORK/stream.txt")
[ "$STREAMED" = "$TEXT" ] || fail "streamed text '$STREAMED' differs from '$TEXT'"
echo "ok: streamed completion equals it"

# ---- chat: the messages' contents, one per line, are the prompt ----
chat=$(printf '{"model":"%s","messages":[{"role":"user","content":"%s"}],"max_tokens":%d,"temperature":0}' \
  "$MODEL_ID" "$PROMPT" $NEW)
CHAT=$(post /v1/chat/completions "$chat" | json_get 'd["choices"][0]["message"]["content"]')
[ "$CHAT" = "$TEXT" ] || fail "chat text '$CHAT' differs from '$TEXT'"
echo "ok: chat completion equals it"

# ---- the openai npm package, unmodified ----
node "$WEB/openai_check.mjs" "$BASE/v1" "$KEY" "$MODEL_ID" "$PROMPT" $NEW >"$WORK/openai.json" ||
  fail "the openai client failed: $(cat "$WORK/openai.json")"
for field in completion completion_stream chat chat_stream; do
  got=$(json_get "d['$field']" <"$WORK/openai.json")
  [ "$got" = "$TEXT" ] || fail "openai client, $field: '$got' differs from '$TEXT'"
done
json_get '"stories260K" in d["models"]' <"$WORK/openai.json" | grep -qx True || fail "openai client: models"
echo "ok: the openai package gets the same text, streaming and not, completions and chat"

# ---- errors ----
expect_error 401 "no API key" "$BASE/v1/models"
expect_error 401 "wrong API key" -H "Authorization: Bearer wrong" "$BASE/v1/models"
expect_error 400 "bad JSON" "${AUTH[@]}" -H 'Content-Type: application/json' -d '{"model": ' "$BASE/v1/completions"
expect_error 400 "bad field" "${AUTH[@]}" -d '{"model":"stories260K","temperature":"hot"}' "$BASE/v1/completions"
head -c $((2 << 20)) /dev/zero | tr '\0' 'a' >"$WORK/huge.txt"
expect_error 413 "2 MiB body" "${AUTH[@]}" -H 'Content-Type: application/json' --data-binary @"$WORK/huge.txt" "$BASE/v1/completions"
expect_error 404 "unknown model" "${AUTH[@]}" -d '{"model":"no-such-model","prompt":"hi"}' "$BASE/v1/completions"
expect_error 404 "unknown route" "${AUTH[@]}" "$BASE/v1/nothing-here"
[ "$(status /dev/null "$BASE/")" = 200 ] || fail "the page needs no key"
echo "ok: the page is public"

# ---- metrics ----
curl -sf "${AUTH[@]}" "$BASE/metrics" >"$WORK/metrics.txt" || fail "/metrics failed"
python3 - "$WORK/metrics.txt" <<'PY' || fail "/metrics: $(cat "$WORK/metrics.txt")"
import re, sys
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (\S+)$')
values = {}
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if not line or line.startswith("# HELP ") or line.startswith("# TYPE "):
        continue
    m = sample.match(line)
    assert m, "not a Prometheus sample: " + line
    float(m.group(5))
    values.setdefault(m.group(1), []).append((line, float(m.group(5))))
# 7 generations of 42 tokens went through this server (3 curl, 4 openai client).
tokens = values["llamps_tokens_generated_total"][0][1]
assert tokens >= 7 * 42, tokens
assert values["llamps_deployments"][0][1] == 1
assert "llamps_sessions_active" in values
hosts = {re.search(r'host="([^"]+)"', l).group(1) for l, v in values["llamps_step_latency_seconds_count"] if v > 0}
assert hosts == {"alpha", "beta", "gamma"}, hosts
assert {re.search(r'host="([^"]+)"', l).group(1) for l, v in values["llamps_kv_bytes"]} == hosts
print("ok: /metrics parses: %d tokens generated, step latency histograms for %s" % (tokens, sorted(hosts)))
PY
echo "http_api: all checks passed"

#!/usr/bin/env bash
# The admission queue on a cluster of real processes: a registry node serving the HTTP API
# (queue-length 2, queue-seconds 10), two contributors, stories260K deployed for one session
# and held by a shell's chat. Then:
#   - a tiny queue: of 4 concurrent streamed requests, 2 are refused at once and 2 when their
#     deadline passes, all 429 with Retry-After and no stream;
#   - cancellation while queued: a client that disconnects leaves the queue (its depth goes
#     back), and the request behind it is the one admitted when the chat ends, with the greedy
#     text; the shell's generate says it is queued, waits, and prints the reference ids;
#   - a client that disconnects mid-stream (a model slow enough to stream for seconds) has its
#     session freed on every host at once, long before the hosts' idle timeout.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"
source "$(dirname "$0")/web.bash"
command -v curl >/dev/null || skip "curl is not installed"
CLIENTS=$SRC/tests/integration/sse_clients.py

# A model whose decode takes milliseconds per token (hidden 4096), for the mid-stream part.
"$LLAMPS" make-model --preset hop-4096 --blocks 2 --type q8_0 --out "$WORK/slow.gguf" >/dev/null 2>&1 ||
  fail "make-model failed"

HTTP_PORT=$(free_port)
BASE=http://127.0.0.1:$HTTP_PORT
start_registry --http 127.0.0.1:$HTTP_PORT --api-key "$KEY" --queue-length 2 --queue-seconds 10
wait_for_line "$WORK/registry.log" "web page and API"
# 0.12 GB each: one block of the slow model per contributor, so its route crosses both.
for i in 0 1; do start_contributor "c$i" 0.12; done
wait_for_servers 2
run_shell_once "deploy $MODEL --sessions 1" "deploy $WORK/slow.gguf --sessions 1 --objective max-throughput" deployments |
  tee "$WORK/deploy.out"
[ "$(grep -c ': ready' "$WORK/deploy.out")" = 2 ] || fail "the deployments failed"
[ "$(grep -E '^slow' "$WORK/deploy.out" | grep -oE 'c[0-9]\[' | sort -u | wc -l)" = 2 ] ||
  fail "the slow model does not use both contributors"

metric() { # metric NAME-AND-LABELS: its value in /metrics now (0 when absent)
  curl -s "${AUTH[@]}" "$BASE/metrics" | awk -v k="$1" '$1 == k { v = $2 } END { print v == "" ? 0 : v }'
}
wait_for_metric() { # wait_for_metric NAME-AND-LABELS VALUE [SECONDS]
  local seconds=${3:-10}
  for _ in $(seq $((seconds * 20))); do
    [ "$(metric "$1")" = "$2" ] && return 0
    sleep 0.05
  done
  fail "$1 is $(metric "$1"), not $2, after $seconds s"
}
sessions_of() { curl -s "${AUTH[@]}" "$BASE/api/sessions" | json_get "sum(1 for s in d if s['model'] == '$1')"; }
DEPTH='llamps_queue_depth{model="stories260K"}'
stream_body() { printf '{"model":"%s","prompt":"%s","max_tokens":%d,"temperature":0,"stream":true}' "$@"; }

# ---- the one session held by a chat ----
start_shell s1
shell_send s1 "chat --model stories260K --temperature 0 --steps 20"
shell_send s1 "Once upon a time"
for _ in $(seq 200); do [ "$(sessions_of stories260K)" = 1 ] && break; sleep 0.05; done
[ "$(sessions_of stories260K)" = 1 ] || fail "the chat holds no session"

# ---- a tiny queue: 2 wait, 2 are refused at once; the 2 waiting are refused at the deadline ----
python3 "$CLIENTS" "$BASE" "$KEY" 4 "$(stream_body stories260K "Lily saw a bird" 16)" >"$WORK/tiny.jsonl"
python3 - "$WORK/tiny.jsonl" <<'PY' || fail "the tiny queue's answers are wrong"
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
for r in rs:
    assert r["status"] == 429, r
    assert r["content_type"].startswith("application/json"), r  # no stream ever started
    assert r["retry_after"] and int(r["retry_after"]) >= 1, r
full = sorted(r["seconds"] for r in rs if r["code"] == "queue_full")
late = sorted(r["seconds"] for r in rs if r["code"] == "queue_timeout")
assert len(full) == 2 and len(late) == 2, rs
assert full[-1] < 3, full      # refused on arrival
assert late[0] >= 9.5, late    # refused once their 10 s were up
print("ok: tiny queue: 2 refused at once (%.2f s), 2 at the deadline (%.1f s), all 429 with Retry-After %s, no stream"
      % (full[-1], late[0], sorted({r["retry_after"] for r in rs})))
PY
[ "$(metric 'llamps_queue_rejected_total{model="stories260K",reason="full"}')" = 2 ] || fail "rejected full is not 2"
[ "$(metric 'llamps_queue_rejected_total{model="stories260K",reason="deadline"}')" = 2 ] || fail "rejected deadline is not 2"
[ "$(metric "$DEPTH")" = 0 ] || fail "the queue is not empty after its requests were refused"
echo "ok: /metrics counts 2 refused full, 2 refused at the deadline"

# ---- cancellation while queued; the next in line is admitted ----
curl -sN "${AUTH[@]}" -H 'Content-Type: application/json' -d "$(stream_body stories260K "The little dog" 16)" \
  "$BASE/v1/completions" >/dev/null 2>&1 &
GONE=$!
PIDS+=($GONE)
wait_for_metric "$DEPTH" 1
python3 "$CLIENTS" "$BASE" "$KEY" 1 "$(stream_body stories260K "One day, Tom" 24)" >"$WORK/next.jsonl" &
NEXT=$!
PIDS+=($NEXT)
wait_for_metric "$DEPTH" 2
kill "$GONE"
wait_for_metric "$DEPTH" 1 3
[ "$(metric 'llamps_queue_cancelled_total{model="stories260K"}')" = 1 ] || fail "the disconnected client was not cancelled"
echo "ok: a client that disconnected while queued left the queue"
# The shell waits too, behind the HTTP client, and says so.
( run_shell_once "generate --model stories260K --temperature 0 --steps 24 --ids Once upon a time" >"$WORK/gen.out" 2>&1 ) &
GEN=$!
wait_for_line "$WORK/gen.out" "queued: model stories260K is at capacity; waiting in line, place 2" 20
shell_send s1 "" # the chat ends: its session frees the place
wait "$NEXT" || fail "the HTTP client behind the cancelled one failed"
wait "$GEN" || { cat "$WORK/gen.out"; fail "the shell's generate failed"; }
PROMPT_TOKENS=$(printf '{"model":"stories260K","prompt":"One day, Tom","max_tokens":1,"temperature":0}' |
  curl -sf "${AUTH[@]}" -H 'Content-Type: application/json' -d @- "$BASE/v1/completions" | json_get 'd["usage"]["prompt_tokens"]')
WANT=$(greedy_reference "One day, Tom" "$PROMPT_TOKENS" 24)
python3 - "$WORK/next.jsonl" "$WANT" <<'PY' || fail "the next in line did not get the greedy text"
import json, sys
r = json.loads(open(sys.argv[1]).read())
assert r["status"] == 200 and r["done"] and not r["error_event"], r
assert r["text"] == sys.argv[2], (r["text"], sys.argv[2])
print("ok: the request behind it was admitted when the chat ended: %r" % r["text"])
PY
got=$(grep -E '^1( [0-9]+)+$' "$WORK/gen.out" || true)
want=$("$LLAMPS" generate --model "$MODEL" --temperature 0 --steps 24 --prompt "Once upon a time" --ids 2>/dev/null | tail -n 1)
[ "$got" = "$want" ] || { cat "$WORK/gen.out"; fail "the shell's ids differ from llamps generate"; }
echo "ok: the shell's generate waited in line (place 2) and then printed the reference ids"

# ---- a client that disconnects mid-stream: its session is freed on every host ----
finished=$(metric llamps_generations_total)
python3 "$CLIENTS" "$BASE" "$KEY" 1 "$(stream_body slow "Once upon a time" 400)" --close-after-first >"$WORK/cut.jsonl"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["status"] == 200 and r["text"] and not r["done"], r' \
  "$WORK/cut.jsonl" || fail "the cut client did not get a first token"
for _ in $(seq 100); do
  shell_ask s1 hosts >"$WORK/hosts.out"
  grep -q '^c[01]  slow' "$WORK/hosts.out" && ! grep '^c[01]  slow' "$WORK/hosts.out" | grep -vq 'sessions 0  kv_bytes 0 ' && break
  sleep 0.1
done
grep '^c[01]  slow' "$WORK/hosts.out" | grep -vq 'sessions 0  kv_bytes 0 ' && { cat "$WORK/hosts.out"; fail "the cut session still holds KV"; }
[ "$(grep -c '^c[01]  slow' "$WORK/hosts.out")" = 2 ] || { cat "$WORK/hosts.out"; fail "not both hosts of the slow model listed"; }
[ "$(sessions_of slow)" = 0 ] || fail "the registry still lists the cut session"
[ "$(metric llamps_generations_total)" = "$finished" ] || fail "the cut generation ran to its end instead of stopping"
echo "ok: a client that disconnected mid-stream had its session freed on both hosts at once"
stop_shell s1
echo "queue_cluster: all checks passed"

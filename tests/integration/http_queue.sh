#!/usr/bin/env bash
# Overload waits in line: 64 concurrent streamed /v1/completions against a demo
# whose deployment holds KV for 4 sessions. Every one is answered 200 and streams exactly the
# greedy text of `llamps generate`; none is told "busy". /metrics shows that they waited
# (the queue's wait histogram) and that no host ever held more than its 4 sessions; it prints
# the time to first token (p50, p99).
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"
source "$(dirname "$0")/web.bash"
command -v curl >/dev/null || skip "curl is not installed"
start_demo_http --sessions 4

N=64
NEW=48
PROMPT="One day, Tom"
body=$(printf '{"model":"stories260K","prompt":"%s","max_tokens":%d,"temperature":0}' "$PROMPT" $NEW)
PROMPT_TOKENS=$(curl -sf "${AUTH[@]}" -H 'Content-Type: application/json' -d "$body" "$BASE/v1/completions" |
  json_get 'd["usage"]["prompt_tokens"]') || fail "a single completion failed"
WANT=$(greedy_reference "$PROMPT" "$PROMPT_TOKENS" $NEW)

# The hosts' sessions, sampled from /metrics while the clients run.
( while :; do curl -s "${AUTH[@]}" "$BASE/metrics" | grep -E '^llamps_host_sessions' || true; sleep 0.05; done ) \
  >"$WORK/sampled.txt" 2>/dev/null &
SAMPLER=$!
PIDS+=($SAMPLER)
python3 "$SRC/tests/integration/sse_clients.py" "$BASE" "$KEY" $N "${body%\}},\"stream\":true}" >"$WORK/clients.jsonl"
kill "$SAMPLER" 2>/dev/null || true
curl -sf "${AUTH[@]}" "$BASE/metrics" >"$WORK/metrics.txt" || fail "/metrics failed"

python3 - "$WORK/clients.jsonl" "$WANT" "$WORK/metrics.txt" "$WORK/sampled.txt" $N $NEW <<'PY' || fail "see above"
import json, re, sys
clients = [json.loads(l) for l in open(sys.argv[1])]
want, n = sys.argv[2], int(sys.argv[5])
assert len(clients) == n, len(clients)
bad = [c for c in clients if c["status"] != 200 or not c["done"] or c["error_event"] or c["text"] != want]
for c in bad[:5]:
    print("bad answer:", c, file=sys.stderr)
assert not bad, "%d of %d clients did not stream the greedy text" % (len(bad), n)
metrics = open(sys.argv[3]).read()
def value(pattern):
    m = re.search(r'^' + pattern + r' (\S+)$', metrics, re.M)
    assert m, "no sample " + pattern
    return float(m.group(1))
admitted = value(r'llamps_queue_wait_seconds_count\{model="stories260K"\}')
at_once = value(r'llamps_queue_wait_seconds_bucket\{model="stories260K",le="0.01"\}')
assert admitted >= n + 1, admitted  # the reference completion too
# Four places for 64 clients: most of them waited for a session to end (>= one generation).
assert admitted - at_once >= n - 8, (admitted, at_once)
assert value(r'llamps_queue_depth\{model="stories260K"\}') == 0
assert value(r'llamps_queue_rejected_total\{model="stories260K",reason="full"\}') == 0
assert value(r'llamps_queue_rejected_total\{model="stories260K",reason="deadline"\}') == 0
most = max([float(l.split()[-1]) for l in open(sys.argv[4]) if l.strip()] or [0])
assert most <= 4, "a host held %s sessions, more than its KV budget's 4" % most
ttft = sorted(c["ttft"] for c in clients)
p = lambda q: ttft[min(len(ttft) - 1, int(q * len(ttft)))]
total = max(c["seconds"] for c in clients)
print("ok: %d concurrent streams on 4 sessions all equal llamps generate; %d of %d admissions waited; "
      "most sessions on a host %d; time to first token p50 %.3f s, p99 %.3f s; all done in %.2f s (%.0f tokens/s)"
      % (n, admitted - at_once, admitted, most, p(0.5), p(0.99), total, n * int(sys.argv[6]) / total))
PY
echo "http_queue: all checks passed"

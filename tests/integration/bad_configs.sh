#!/usr/bin/env bash
# Bad input: broken node configurations stop the node with one clear line naming the
# problem and exit code 2; over-long prompts (shell and HTTP), undeploying during a
# generation and deploying a model twice give clear errors while the cluster keeps serving.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"

# expect_config_error PATTERN ARGS...: llamps node ARGS exits 2 and its first line matches.
expect_config_error() {
  local pattern=$1; shift
  local code=0
  timeout 20 "$LLAMPS" node "$@" >"$WORK/cfg.out" 2>&1 || code=$?
  [ "$code" = 2 ] || { cat "$WORK/cfg.out"; fail "llamps node $* exited $code, not 2"; }
  head -n 1 "$WORK/cfg.out" | grep -qE "^llamps node: error: .*$pattern" ||
    { cat "$WORK/cfg.out"; fail "llamps node $*: first line does not name '$pattern'"; }
}
ini() { printf '%s\n' "$@" >"$WORK/node.ini"; echo "$WORK/node.ini"; }

expect_config_error "share-memory-gb.*invalid" --config "$(ini 'share-memory-gb = lots')"
expect_config_error "share-cores.*invalid" --config "$(ini 'share-cores = 2.5')"
expect_config_error "use-local-copies.*invalid" --config "$(ini 'use-local-copies = maybe')"
expect_config_error "unrecognised option 'colour'" --config "$(ini 'colour = blue')"
expect_config_error "role contributor needs --registry" --config "$(ini 'role = contributor')"
expect_config_error "role must be" --config "$(ini 'role = leader')"
expect_config_error "share-memory-gb must be between" --config "$(ini 'share-memory-gb = -4')"
expect_config_error "share-memory-gb must be between" --share-memory-gb 5e9
expect_config_error "share-memory-gb must be between" --share-memory-gb nan
expect_config_error "share-cores must be between" --share-cores -1
expect_config_error "heartbeat-ms must be between" --heartbeat-ms 0
expect_config_error "session-idle-seconds must be between" --session-idle-seconds 0
expect_config_error "address 'nohost' is not HOST:PORT" --listen nohost
expect_config_error "port out of range" --listen 127.0.0.1:99999
expect_config_error "address .* is not HOST:PORT" --role contributor --registry registry.example
expect_config_error "cannot read config file" --config "$WORK/absent.ini"
expect_config_error "TLS needs all three" --tls-ca "$WORK/ca.pem"
printf 'not a state file' >"$WORK/bad.state"
expect_config_error "state file .* is corrupt" --role registry --listen 127.0.0.1:0 --state-file "$WORK/bad.state"
echo "configs: every bad configuration stopped the node with one clear line and exit 2"

start_registry
for i in 0 1 2 3; do start_contributor "c$i" 0.0026; done
wait_for_servers 4
want=$(reference_ids 64 "Once upon a time")

# ---- deploying the same model twice ----
run_shell_once "deploy $MODEL --sessions 2 --kv-type f32" "deploy $MODEL" >"$WORK/twice.out" || true
grep -q ": ready" "$WORK/twice.out" || fail "the first deploy failed"
grep -q "error: .*already deployed" "$WORK/twice.out" || { cat "$WORK/twice.out"; fail "deploying twice gave no clear error"; }
echo "deploy twice: $(grep 'already deployed' "$WORK/twice.out")"

# ---- a prompt longer than the context ----
long=$(python3 -c 'print(" ".join(["dog"] * 2100))')
run_shell_once "generate --temperature 0 $long" >"$WORK/long.out" || true
grep -qE "error: .*context" "$WORK/long.out" || { cat "$WORK/long.out"; fail "an over-long prompt gave no clear error"; }
echo "long prompt (shell): $(grep -oE 'error: .{0,100}' "$WORK/long.out" | head -n 1)"
got=$(run_shell_once "generate --temperature 0 --steps 64 --ids Once upon a time" | grep -E '^1( [0-9]+)+$' || true)
[ "$got" = "$want" ] || fail "the cluster does not serve after an over-long prompt"

# ---- undeploying during a generation ----
start_shell s1
shell_send s1 "generate --temperature 0 --steps 1800 --ids Once upon a time"
wait_for_size "$WORK/s1.out" 400
run_shell_once "undeploy stories260K" | grep -q "undeployed stories260K" || fail "undeploy failed"
wait_for_line "$WORK/s1.err" "error: " 60
echo "undeploy during generation: $(grep -m1 'error: ' "$WORK/s1.err")"
grep -q "undeployed during the generation\|not deployed" "$WORK/s1.err" || fail "the generation did not end with a clear error"
shell_send s1 "deploy $MODEL --sessions 2"
shell_send s1 "generate --temperature 0 --steps 64 --ids Once upon a time"
stop_shell s1 60
[ "$(shell_ids s1)" = "$want" ] || { cat "$WORK/s1.out" "$WORK/s1.err"; fail "the cluster does not serve after an undeploy during a generation"; }
for n in registry c0 c1 c2 c3; do kill -0 "$(node_pid $n)" || fail "$n died"; done
echo "cluster: every node kept serving"

# ---- a prompt longer than the context over HTTP ----
command -v curl >/dev/null || { echo "no curl: HTTP case skipped"; exit 0; }
port=$(free_port)
start_node web "$LLAMPS" node --role contributor --node-id web --listen 127.0.0.1:$(free_port) \
  --registry 127.0.0.1:$REG_PORT --share-memory-gb 0.0001 --http 127.0.0.1:$port
wait_for_line "$WORK/web.log" "web page and API" 30
body=$(python3 -c 'import json; print(json.dumps({"model": "stories260K", "prompt": " ".join(["dog"] * 2100), "max_tokens": 4, "temperature": 0}))')
code=$(curl -s -o "$WORK/http.out" -w '%{http_code}' -H 'Content-Type: application/json' -d "$body" http://127.0.0.1:$port/v1/completions)
echo "long prompt (HTTP): $code $(head -c 200 "$WORK/http.out")"
[ "${code:0:1}" = 4 ] && grep -q "context" "$WORK/http.out" || fail "HTTP: an over-long prompt gave $code, not a clear 4xx"
small=$(python3 -c 'import json; print(json.dumps({"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 4, "temperature": 0}))')
code=$(curl -s -o "$WORK/http2.out" -w '%{http_code}' -H 'Content-Type: application/json' -d "$small" http://127.0.0.1:$port/v1/completions)
[ "$code" = 200 ] || { cat "$WORK/http2.out"; fail "HTTP: the node does not serve after an over-long prompt ($code)"; }
echo "bad input: clear errors, nothing lost, every node kept serving"

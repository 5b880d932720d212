#!/usr/bin/env bash
# The web page in headless Chromium (Debian's chromium driven by playwright-core from npm):
# list servers, plan, deploy, generate, undeploy, on a demo that has not deployed its model.
# The text the page shows must equal `llamps generate`'s greedy text. Screenshots go to
# BUILD/screenshots/.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"
source "$(dirname "$0")/web.bash"

if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 ||
    skip "Debian's chromium is not installed and cannot be installed here"
fi
need_node_packages
start_demo_http --serve-only

PROMPT="One day, Tom"
NEW=42
SHOTS=$BUILD/screenshots
node "$WEB/browser_flow.mjs" "$BASE" "$KEY" "$(realpath "$MODEL")" "$PROMPT" $NEW "$SHOTS" >"$WORK/browser.json" ||
  fail "the browser flow failed (screenshots in $SHOTS; server log: $(tail -n 20 "$WORK/demo.log"))"
cat "$WORK/browser.json"
GOT=$(tail -n 1 "$WORK/browser.json" | json_get 'd["generated"]')
# The prompt is BOS + 5 tokens for this model (shared/models/README.md).
WANT=$(greedy_reference "$PROMPT" 6 $NEW)
[ "$GOT" = "$WANT" ] || fail "the page shows '$GOT', llamps generate gives '$WANT'"
# The page's chat sends the conversation as messages: its answers equal the API's for them.
python3 - "$WORK/browser.json" "$PROMPT" <<'PY' || fail "the page's chat differs from /v1/chat/completions"
import json, sys
got, prompt = json.loads(open(sys.argv[1]).read().splitlines()[-1]), sys.argv[2]
assert got["chat"] == got["chatApi"], (got["chat"], got["chatApi"])
first = got["chat"][0]
assert got["transcript"].startswith(f"you: {prompt}\nmodel: {first}\nyou: The little dog"), got["transcript"]
print("ok: the page's chat (two turns) equals /v1/chat/completions on the same messages")
PY
ls "$SHOTS"/0{1,2,3,4,5,6}-*.png >/dev/null || fail "screenshots missing in $SHOTS"
echo "web_browser: the whole flow works; the generated text equals llamps generate; screenshots in $SHOTS"

#!/usr/bin/env bash
# Live deploy progress in the shell. Two contributors pull the blocks of a 4096-wide model
# (254 MB of Q8_0 blocks) from the deployer (no local copies), so a load takes several polls.
# With stdin and stdout not terminals the shell prints a plain line per server when its
# progress moved by a tenth or its state changed, and today's summary after them; on a
# pseudo-terminal (util-linux `script`) it redraws the servers' lines in place with ANSI
# cursor-up and erase sequences, and the summary takes their place. A contributor killed
# while it loads fails the deployment: its line and the error name it.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"

"$LLAMPS" make-model --preset hop-4096 --blocks 3 --type q8_0 --out "$WORK/wide.gguf" >/dev/null 2>&1 ||
  fail "make-model failed"
start_registry
start_contributor c0 0.2 --use-local-copies false
start_contributor c1 0.2 --use-local-copies false
wait_for_servers 2

# Checks the shell's output (MODE plain or tty) of deploying MODEL: the progress lines' format,
# each server's last line at 100% with its bytes loaded equal to its total, the summary after
# them, and (plain) few lines per server. Prints how many lines showed a load in between.
check_output() {
  python3 - "$@" <<'PY'
import re, sys
mode, path, model = sys.argv[1:4]
raw = open(path, encoding="utf-8", errors="replace").read()
def fail(why):
    print(raw.replace("\x1b", "<ESC>"), file=sys.stderr)
    sys.exit("FAIL: " + why)
if mode == "tty":
    for seq, what in (("\x1b[2K", "erase line"), ("\x1b[J", "erase below")):
        if seq not in raw:
            fail(f"no {what} sequence on the terminal")
    if not re.search(r"\x1b\[\d+A", raw):
        fail("no cursor-up sequence: the lines were not redrawn in place")
    text = re.sub(r"\x1b\[\d*[A-Za-z]", "", raw).replace("\r", "\n")
else:
    if "\x1b" in raw:
        fail("escape sequences in plain output")
    text = raw
lines = text.split("\n")
prog = re.compile(r"^  (\S+)\s+blocks (\d+(?:-\d+)?)\s+(\d+(?:\.\d+)? [KMG]?B) / (\d+(?:\.\d+)? [KMG]?B)\s+"
                  r"(\d+)%\s+(-|\d+(?:\.\d+)? [KMG]?B/s)\s+(\S.*)$")
summary = [i for i, l in enumerate(lines) if re.match(rf"^{model} d-\d+-{model}: ready$", l)]
if len(summary) != 1:
    fail(f"expected one '{model} ...: ready' summary line")
end = summary[0]
found = [(i, prog.match(l)) for i, l in enumerate(lines)]
found = [(i, m) for i, m in found if m]
if not found:
    fail("no progress lines")
if any(i > end for i, _ in found):
    fail("progress lines after the summary")
servers = {}
for _, m in found:
    servers.setdefault(m.group(1), []).append(m)
if set(servers) != {"c0", "c1"}:
    fail(f"progress lines for {sorted(servers)}, not c0 and c1")
between = 0
for node, ms in servers.items():
    if mode == "plain" and len(ms) > 20:
        fail(f"{node}: {len(ms)} plain lines, more than a line per tenth and state")
    between += sum(0 < int(m.group(5)) < 100 for m in ms)
    if mode == "plain":
        last = ms[-1]
        if not (last.group(5) == "100" and last.group(3) == last.group(4) and last.group(7) == "ready"):
            fail(f"{node}: last line '{last.group(0)}' is not 100% of its bytes, ready")
# The summary's own lines: every server ready with its bytes loaded equal to its total.
rows = [re.match(r"^  (\S+)\s+(\S+ \S+) / (\S+ \S+)\s+ready$", l) for l in lines[end + 1:end + 3]]
if not all(rows) or any(r.group(2) != r.group(3) for r in rows):
    fail("the summary does not show every server's bytes loaded of its total, ready")
print(f"{mode}: {len(found)} progress lines, {between} of them between 0% and 100%")
PY
}

# ---- stdin and stdout not terminals: plain lines ----
printf 'deploy %s --sessions 1\n' "$WORK/wide.gguf" | "$LLAMPS" shell --connect 127.0.0.1:$REG_PORT \
  >"$WORK/plain.out" 2>"$WORK/plain.err" || { cat "$WORK/plain.out" "$WORK/plain.err"; fail "plain deploy failed"; }
cat "$WORK/plain.out"
check_output plain "$WORK/plain.out" wide
run_shell_once "undeploy wide" | grep -q "undeployed wide" || fail "undeploy failed"

# ---- stdout a terminal: the lines redrawn in place ----
printf 'deploy %s --sessions 1\n' "$WORK/wide.gguf" >"$WORK/tty.in"
script -qfec "$LLAMPS shell --connect 127.0.0.1:$REG_PORT <$WORK/tty.in" /dev/null </dev/null >"$WORK/tty.out" 2>&1 ||
  { cat -v "$WORK/tty.out"; fail "deploy on a terminal failed"; }
cat -v "$WORK/tty.out" | tail -n 4
check_output tty "$WORK/tty.out" wide
run_shell_once "undeploy wide" | grep -q "undeployed wide" || fail "undeploy failed"

# ---- a server lost while it loads: the error and its line name it ----
start_shell s1
shell_send s1 "deploy $WORK/wide.gguf --sessions 1"
wait_for_line "$WORK/s1.out" "blocks .*fetching" 60
kill -9 "$(node_pid c1)"
for _ in $(seq 600); do
  grep -q ": ready" "$WORK/s1.out" || grep -q "error: " "$WORK/s1.err" && break
  sleep 0.1
done
stop_shell s1
if grep -q ": ready" "$WORK/s1.out"; then
  echo "c1 finished loading before it was killed: the failure case was not exercised"
else
  cat "$WORK/s1.out" "$WORK/s1.err"
  grep -q "^error: deploying wide failed: c1 went down" "$WORK/s1.err" || fail "the error does not name c1"
  grep -qE "^  c1 .*failed: went down$" "$WORK/s1.out" || fail "c1's line does not say it failed"
fi
echo "shell_deploy_progress: plain lines and in-place redraws both end at every server's total"

#!/usr/bin/env bash
# The Debian package end to end, as an IT department rolls it out: cpack builds it, its
# control data is inspected (files, conffiles, dependencies), dpkg -i installs it, and a
# registry from /etc/llamps/registry.ini and a contributor from /etc/llamps/node.ini (loopback
# ports on the command line, which wins; the contributor as the llamps user, as its service
# runs it) serve a deployment whose greedy output is the oracle's. dpkg -r then leaves the
# conffiles alone, dpkg -P nothing. Needs root (exit 77 otherwise), as CI runs it.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"

[ "$(id -u)" -eq 0 ] || { echo "skipped: installing a package needs root"; exit 77; }
for tool in cpack dpkg dpkg-deb runuser; do
  command -v "$tool" >/dev/null || { echo "skipped: no $tool"; exit 77; }
done
if dpkg-query -W -f='${Status}' llamps 2>/dev/null | grep -q installed; then
  echo "skipped: a llamps package is installed on this machine; not replacing it"; exit 77
fi
trap 'pkill -9 -u llamps 2>/dev/null || true; dpkg -P llamps >/dev/null 2>&1 || true; cleanup' EXIT

# ---- build and inspect ----
version=$(sed -nE 's/^project\(llamps VERSION ([0-9.]+).*/\1/p' "$SRC/CMakeLists.txt")
cpack --config "$BUILD/CPackConfig.cmake" -B "$WORK/pkg" -G DEB >"$WORK/cpack.log" 2>&1 ||
  { cat "$WORK/cpack.log"; fail "cpack failed"; }
deb="$WORK/pkg/llamps_${version}_$(dpkg --print-architecture).deb"
[ -f "$deb" ] || { ls "$WORK/pkg"; fail "no $(basename "$deb")"; }
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for dep in libtorch1.13 libopenblas0-openmp libcaf-core0.17 libcaf-io0.17 libspdlog libboost-program-options adduser; do
  [[ $depends == *"$dep"* ]] || fail "Depends lacks $dep"
done
files=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/llamps ./etc/llamps/node.ini ./etc/llamps/registry.ini \
  ./usr/lib/systemd/system/llamps-node.service ./usr/lib/systemd/system/llamps-registry.service \
  ./usr/share/man/man1/llamps.1.gz; do
  grep -qx "$f" <<<"$files" || fail "the package lacks $f"
done
dpkg-deb -e "$deb" "$WORK/control"
[ "$(sort "$WORK/control/conffiles")" = "$(printf '/etc/llamps/node.ini\n/etc/llamps/registry.ini')" ] ||
  fail "conffiles: $(cat "$WORK/control/conffiles")"

# ---- install ----
dpkg -i "$deb" >"$WORK/dpkg.log" 2>&1 || { cat "$WORK/dpkg.log"; fail "dpkg -i failed"; }
/usr/bin/llamps --version | grep -q "^llamps $version " || fail "installed --version: $(/usr/bin/llamps --version)"
id llamps >/dev/null || fail "no llamps system user"
[ "$(stat -c %U /var/lib/llamps/cache)" = llamps ] || fail "/var/lib/llamps/cache is not the llamps user's"
zcat /usr/share/man/man1/llamps.1.gz | grep -q '^\.SS bench-cluster' || fail "the man page lacks the commands"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify --man=no /usr/lib/systemd/system/llamps-node.service \
    /usr/lib/systemd/system/llamps-registry.service || fail "systemd-analyze verify"
fi

# An upgrade (here: the same package again) keeps the admin's edits of a conffile.
echo "# edited by the admin" >>/etc/llamps/node.ini
dpkg -i "$deb" >"$WORK/dpkg.log" 2>&1 || { cat "$WORK/dpkg.log"; fail "dpkg -i over itself failed"; }
grep -q "^# edited by the admin" /etc/llamps/node.ini || fail "reinstalling replaced the edited node.ini"

# ---- run from /etc/llamps ----
REG_PORT=$(free_port)
NODE_PORT=$(free_port)
start_node registry /usr/bin/llamps node --config /etc/llamps/registry.ini \
  --listen 127.0.0.1:$REG_PORT --heartbeat-ms 300
wait_for_line "$WORK/registry.log" "registry listening"
# The contributor pulls its blocks from the deployer (not from the model file, which it could
# read on this machine) into its cache-dir from node.ini, /var/lib/llamps/cache: the llamps
# user must be able to write there.
start_node contributor runuser -u llamps -- /usr/bin/llamps node \
  --config /etc/llamps/node.ini --node-id pkg-node --listen 127.0.0.1:$NODE_PORT \
  --registry 127.0.0.1:$REG_PORT --heartbeat-ms 300 --use-local-copies false
wait_for_line "$WORK/contributor.log" "contributor listening"
cat >"$WORK/script" <<SCRIPT
deploy $MODEL --sessions 2
generate --temperature 0 --steps 48 --ids One day, Tom
SCRIPT
/usr/bin/llamps shell --connect 127.0.0.1:$REG_PORT <"$WORK/script" >"$WORK/shell.out" 2>&1 ||
  { cat "$WORK/shell.out" "$WORK/contributor.log"; fail "shell script failed"; }
got=$(grep -E '^1( [0-9]+)+$' "$WORK/shell.out" | head -n 1 || true)
[ "$got" = "$(oracle_ids 2)" ] || { cat "$WORK/shell.out"; fail "got '$got', oracle '$(oracle_ids 2)'"; }
ls /var/lib/llamps/cache/*.gguf >/dev/null 2>&1 || fail "the contributor kept no blocks in /var/lib/llamps/cache"
# SIGINT: leave at once (SIGTERM would drain for drain-seconds).
pkill -INT -u llamps -x llamps || fail "no llamps process of the llamps user"
kill -INT "$PID_registry"
wait "$PID_contributor" "$PID_registry" 2>/dev/null || true
! pgrep -u llamps >/dev/null || fail "a process of the llamps user outlived SIGINT"

# ---- remove, then purge ----
dpkg -r llamps >"$WORK/dpkg.log" 2>&1 || { cat "$WORK/dpkg.log"; fail "dpkg -r failed"; }
for f in /usr/bin/llamps /usr/lib/systemd/system/llamps-node.service \
  /usr/lib/systemd/system/llamps-registry.service /usr/share/man/man1/llamps.1.gz; do
  [ ! -e "$f" ] || fail "dpkg -r left $f"
done
[ -f /etc/llamps/node.ini ] && [ -f /etc/llamps/registry.ini ] || fail "dpkg -r removed the conffiles"
dpkg-query -W -f='${Status}' llamps | grep -q "config-files" || fail "not in config-files state after dpkg -r"
dpkg -P llamps >"$WORK/dpkg.log" 2>&1 || { cat "$WORK/dpkg.log"; fail "dpkg -P failed"; }
[ ! -e /etc/llamps ] || fail "dpkg -P left /etc/llamps"
[ ! -e /var/lib/llamps ] || fail "dpkg -P left /var/lib/llamps"
! id llamps >/dev/null 2>&1 || fail "dpkg -P left the llamps user"
echo "package: built, inspected, installed, served the oracle ids from /etc/llamps, removed, purged"

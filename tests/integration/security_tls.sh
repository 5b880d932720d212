#!/usr/bin/env bash
# TLS between nodes with a cluster CA: `llamps ca init` / `llamps ca issue`, a registry and two
# contributors over caf::openssl serving a deploy and a greedy generation equal to `llamps
# generate`; rogue contributors (another CA's certificate, no TLS) and rogue shells (no
# certificate, another CA's) are refused and never listed; bad TLS files stop a node with one
# line; the cluster keeps working afterwards.
set -euo pipefail
source "$(dirname "$0")/lib.bash" "$@"
source "$(dirname "$0")/security_lib.bash"

PKI=$WORK/pki
"$LLAMPS" ca init --dir "$PKI/ca" --days 2 >/dev/null
for n in registry c0 c1 shell; do "$LLAMPS" ca issue $n --dir "$PKI/ca" --out "$PKI/nodes" --days 2 >/dev/null; done
"$LLAMPS" ca init --dir "$PKI/rogue" --days 2 >/dev/null
"$LLAMPS" ca issue evil --dir "$PKI/rogue" --out "$PKI/evil" --days 2 >/dev/null
[ "$(stat -c %a "$PKI/ca/ca.key")" = 600 ] || fail "the CA key is not private (mode 600)"
openssl verify -CAfile "$PKI/ca/ca.crt" "$PKI/nodes/c0.crt" >/dev/null || fail "openssl does not verify c0.crt"
openssl verify -CAfile "$PKI/ca/ca.crt" "$PKI/evil/evil.crt" >/dev/null 2>&1 && fail "evil.crt verifies against our CA"
"$LLAMPS" ca init --dir "$PKI/ca" >/dev/null 2>&1 && fail "ca init overwrote an existing CA"

creds() { echo --tls-ca "$PKI/ca/ca.crt" --tls-cert "$PKI/nodes/$1.crt" --tls-key "$PKI/nodes/$1.key"; }
evil_creds=(--tls-ca "$PKI/rogue/ca.crt" --tls-cert "$PKI/evil/evil.crt" --tls-key "$PKI/evil/evil.key")

# Missing or mismatched TLS files: one clear line and a non-zero exit, before listening.
expect_bad_tls() {
  if timeout 20 "$LLAMPS" node --role registry --listen 127.0.0.1:$(free_port) \
      --tls-ca "$1" --tls-cert "$2" --tls-key "$3" >"$WORK/badtls.out" 2>&1; then
    fail "a node started with bad TLS files ($*)"
  fi
  [ "$(wc -l <"$WORK/badtls.out")" = 1 ] || { cat "$WORK/badtls.out"; fail "bad TLS files: not one line"; }
  echo "bad TLS files refused: $(cat "$WORK/badtls.out")"
}
expect_bad_tls "$PKI/ca/ca.crt" "$PKI/nodes/missing.crt" "$PKI/nodes/c0.key"
expect_bad_tls "$PKI/ca/ca.crt" "$PKI/nodes/c0.crt" "$PKI/nodes/c1.key"
expect_bad_tls "$PKI/ca/ca.crt" "$PKI/evil/evil.crt" "$PKI/evil/evil.key"

start_cluster
expect_generation legit "One day, Tom" 48 $(creds shell)
# Every link is a TLS one: each node listens on its --listen port only, and every two nodes
# share one connection.
check_one_listener registry c0 c1
check_links registry c0 c1

# Rogue contributors: another CA's certificate, and plain TCP without TLS.
expect_node_refused rogue-ca "${evil_creds[@]}"
expect_node_refused rogue-plain
# Rogue shells: no TLS at all, another CA's certificate, and straight to a contributor's port.
expect_shell_refused shell-plain
expect_shell_refused shell-rogue-ca "${evil_creds[@]}"
REG_SAVED=$REG_PORT; REG_PORT=$C0_PORT
expect_shell_refused shell-plain-to-c0
REG_PORT=$REG_SAVED
# Below our own client code: a bare TLS client trusting our CA but with no certificate, or
# with the rogue CA's, is refused by the server's handshake (TLS 1.2 so that the client sees
# the server's verdict inside the handshake).
for who in none evil; do
  cert=(); [ $who = evil ] && cert=(-cert "$PKI/evil/evil.crt" -key "$PKI/evil/evil.key")
  if echo | timeout 10 openssl s_client -tls1_2 -connect 127.0.0.1:$REG_PORT -CAfile "$PKI/ca/ca.crt" \
      "${cert[@]}" >"$WORK/sclient-$who.out" 2>&1; then
    cat "$WORK/sclient-$who.out"; fail "openssl s_client with certificate '$who' completed a handshake"
  fi
  grep -qiE "alert|handshake failure" "$WORK/sclient-$who.out" || { cat "$WORK/sclient-$who.out"; fail "s_client $who: no TLS alert"; }
  echo "refused as expected: s_client with certificate '$who': $(grep -m1 -iE 'alert' "$WORK/sclient-$who.out")"
  REFUSED=$((REFUSED + 1))
done

# Never listed, and the cluster still serves.
expect_servers after $(creds shell)
expect_generation after-rogues "The little dog" 60 $(creds shell)
kill -0 $PID_registry $PID_c0 $PID_c1 || fail "a cluster node died"
stop_cluster
echo "security_tls: $REFUSED rogue attempts refused; the TLS cluster equals llamps generate before and after"

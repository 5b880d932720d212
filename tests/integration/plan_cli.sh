#!/usr/bin/env bash
# llamps plan on the reference case: the table, the JSON (parsed), the other objectives, and
# an infeasible request that must exit non-zero naming the missing GB, and numbers out of range.
# Args: llamps binary, source dir, build dir.
set -euo pipefail
llamps=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/servers.csv" <<'EOF'
name,memory_gb,cores,address
s1,155,8,10.0.0.1:4000
s2,113.5,8,10.0.0.2:4000
s3,83.5,2,10.0.0.3:4000
s4,83.5,4,10.0.0.4:4000
s5,83.5,8,10.0.0.5:4000
EOF

fail() { echo "FAIL: $*" >&2; exit 1; }

# Table: one row per chosen server with its range, GB used and GB left.
table=$("$llamps" plan --servers "$tmp/servers.csv" --blocks 80 --block-gb 3.75)
echo "$table"
echo "$table" | grep -Eq '^s1 +0-34 +131\.25 +23\.75' || fail "table row for s1"
echo "$table" | grep -Eq '^s2 +35-60 +97\.50 +16\.00' || fail "table row for s2"
echo "$table" | grep -Eq '^s5 +61-79 +71\.25 +12\.25' || fail "table row for s5"
echo "$table" | grep -Eq '^s[34] ' && fail "s3/s4 must not be used"

# JSON: parsed for real.
"$llamps" plan --servers "$tmp/servers.csv" --blocks 80 --block-gb 3.75 --json > "$tmp/plan.json"
python3 - "$tmp/plan.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
got = [(a["server"], a["first_block"], a["last_block"]) for a in p["assignments"]]
assert got == [("s1", 0, 34), ("s2", 35, 60), ("s5", 61, 79)], got
assert p["feasible"] is True and p["objective"] == "fewest-servers", p
assert p["assignments"][0]["address"] == "10.0.0.1:4000"
assert abs(p["assignments"][0]["gb_used"] - 131.25) < 1e-9
assert p["bottleneck_tokens_per_s"] > 0
print("json ok")
EOF

# The other objectives and replicas produce valid chains covering every block.
for args in "--block-gb 3.75 --objective max-throughput" \
            "--block-gb 3.75 --objective max-sessions --kv-bytes 8192 --context 4096" \
            "--block-gb 1.5 --replicas 2"; do
  # shellcheck disable=SC2086
  "$llamps" plan --servers "$tmp/servers.csv" --blocks 80 $args --json > "$tmp/o.json"
  python3 - "$tmp/o.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
for r in range(p["replicas"]):
    chain = [a for a in p["assignments"] if a["replica"] == r]
    assert chain[0]["first_block"] == 0 and chain[-1]["last_block"] == 79, chain
    for a, b in zip(chain, chain[1:]):
        assert b["first_block"] == a["last_block"] + 1, chain
servers = [a["server"] for a in p["assignments"]]
assert len(servers) == len(set(servers)), servers
print(p["objective"], "ok")
EOF
done

# A catalog model by name.
"$llamps" plan --servers "$tmp/servers.csv" --model llama-2-70b --dtype f16 | grep -q 'llama-2-70b: 80 blocks' \
  || fail "catalog model by name"

# Infeasible: 150 blocks; the servers hold 137, so 13 x 3.75 = 48.75 GB are missing.
if "$llamps" plan --servers "$tmp/servers.csv" --blocks 150 --block-gb 3.75 2> "$tmp/err"; then
  fail "infeasible request exited 0"
fi
cat "$tmp/err"
grep -q '48.75 GB' "$tmp/err" || fail "reason does not name the missing GB"
# Numbers out of range: exit 2 and one line naming the option (unchecked, a negative GB would
# wrap to 18446744072 GB in the infeasibility reason, and negative sessions would be planned for).
refused() { # RULE ARGS...
  local rule=$1 code=0; shift
  "$llamps" plan --servers "$tmp/servers.csv" "$@" >"$tmp/out" 2>"$tmp/err" || code=$?
  [ "$code" = 2 ] || fail "plan $* exited $code, not 2"
  grep -qF -- "llamps plan: $rule" "$tmp/err" || { cat "$tmp/err"; fail "plan $*: no '$rule'"; }
}
refused "--blocks must be at least 1" --blocks 0 --block-gb 3.75
refused "--block-gb must be a positive number" --blocks 80 --block-gb -1
refused "--block-gb must be a positive number" --blocks 80 --block-gb nan
refused "--kv-bytes must not be negative" --blocks 80 --block-gb 3.75 --kv-bytes -5
refused "--replicas must be at least 1" --blocks 80 --block-gb 3.75 --replicas 0
refused "--sessions must not be negative" --blocks 80 --block-gb 3.75 --sessions -3
refused "--context must not be negative" --blocks 80 --block-gb 3.75 --context -1
refused "--overhead-gb must be 0 or a positive number" --blocks 80 --block-gb 3.75 --overhead-gb -1
refused "--core-gbps must be a positive number" --blocks 80 --block-gb 3.75 --core-gbps 0
echo "plan_cli: all ok"

"""Counts the TCP connections between named processes, from `ss -tnpH state established` on
stdin. Arguments: NAME=PID ... Prints one line per pair ("c0 c1 1") and exits 1 unless every
pair shares exactly one connection: nodes link each pair once, by one side
(actors/cluster/link_keeper.cpp)."""
import collections
import itertools
import re
import sys

names = {int(pid): name for name, pid in (arg.split("=") for arg in sys.argv[1:])}
owner, ends = {}, []
for line in sys.stdin:
    fields = line.split()
    found = re.search(r"pid=(\d+)", line)
    if len(fields) >= 4 and found:
        owner[fields[2]] = int(found.group(1))
        ends.append((fields[2], fields[3], int(found.group(1))))
count = collections.Counter()
for local, peer, pid in ends:
    other = owner.get(peer)
    if pid in names and other in names and pid != other:
        count[frozenset((names[pid], names[other]))] += 1  # each connection is seen at both ends
ok = True
for a, b in itertools.combinations(sorted(names.values()), 2):
    n = count[frozenset((a, b))] // 2
    print(f"{a} {b} {n}")
    ok = ok and n == 1
sys.exit(0 if ok else 1)

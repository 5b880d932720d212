"""N concurrent completions against a running llama-server, as the peer figure for LLaMPS's
batched decode (docs/benchmarks.md): every client posts /completion at once (a barrier), with
n_predict TOKENS and ignore_eos, and the aggregate is all tokens over the wall time.

    llama-server -m FILE -t 2 -np 16 -c 8192 --port PORT &
    python3 scripts/llama_server_clients.py PORT 16 32
"""
import json, sys, threading, time, urllib.request
port, n, tokens = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
done = []
start = threading.Barrier(n)
def one(i):
    body = json.dumps({"prompt": "Once upon a time", "n_predict": tokens, "ignore_eos": True, "temperature": 0, "cache_prompt": False}).encode()
    start.wait()
    r = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/completion", body, {"Content-Type": "application/json"}), timeout=600)
    d = json.loads(r.read())
    done.append(d.get("tokens_predicted", 0))
t0 = time.monotonic()
ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
[t.start() for t in ts]; [t.join() for t in ts]
wall = time.monotonic() - t0
print(f"{n} clients x {tokens} tokens: {sum(done)} tokens in {wall:.2f} s = {sum(done) / wall:.1f} tok/s aggregate")

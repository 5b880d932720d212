#!/usr/bin/env python3
"""Start-up time of the commands that run no model: min and median of 20 starts each, beside
an empty program linked to libtorch_cpu (what every command paid before libtorch moved into
bench's plugin), when g++ and libtorch are there.

Usage: scripts/start-times.py [LLAMPS_BINARY]   (default build/llamps)
A registry node counts until it prints "registry listening"; the others until they exit.
Prints the CPU beside the figures (machines differ from session to session)."""
import os, socket, statistics, subprocess, sys, tempfile, time

llamps = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "build", "llamps")
runs = 20

def cpu():
    model, flags = "unknown", []
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
        if line.startswith("flags"):
            have = line.split(":", 1)[1].split()
            flags = [f for f in ("avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni") if f in have]
            break
    return f"{model} | flags: {' '.join(flags)}"

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

def timed_exit(args):
    t0 = time.perf_counter()
    subprocess.run([llamps] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0

def timed_registry():
    port = free_port()
    t0 = time.perf_counter()
    p = subprocess.Popen([llamps, "node", "--role", "registry", "--listen", f"127.0.0.1:{port}"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in p.stdout:
        if "registry listening" in line:
            break
    elapsed = time.perf_counter() - t0
    p.kill(); p.wait()
    return elapsed

with tempfile.TemporaryDirectory() as tmp:
    servers = os.path.join(tmp, "servers.csv")
    with open(servers, "w") as f:
        f.write("a,48,8\nb,32,4\nc,24,4\n")
    cases = [
        ("llamps --help", lambda: timed_exit(["--help"])),
        ("llamps plan (llama-2-70b, 3 servers)", lambda: timed_exit(["plan", "--servers", servers, "--model", "llama-2-70b", "--dtype", "q4_0"])),
        ("llamps shell --help", lambda: timed_exit(["shell", "--help"])),
        ("llamps ca --help", lambda: timed_exit(["ca", "--help"])),
        ("registry node, start to listening", timed_registry),
    ]
    empty = os.path.join(tmp, "empty_torch")
    with open(empty + ".cpp", "w") as f:
        f.write("int main() { return 0; }\n")
    if subprocess.run(["g++", empty + ".cpp", "-o", empty, "-Wl,--no-as-needed", "-ltorch_cpu", "-lc10"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
        def timed_empty():
            t0 = time.perf_counter()
            subprocess.run([empty])
            return time.perf_counter() - t0
        cases.append(("empty program linked to libtorch_cpu", timed_empty))
    print(f"cpu: {cpu()}; {runs} starts each")
    for name, run in cases:
        times = sorted(run() * 1e3 for _ in range(runs))
        print(f"{name:42s} min {times[0]:7.1f} ms   median {statistics.median(times):7.1f} ms")

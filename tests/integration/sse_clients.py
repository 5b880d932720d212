"""Concurrent streamed /v1/completions clients for the queue tests (imported or run).

    python3 sse_clients.py BASE KEY N BODY-JSON [--close-after-first]

starts N clients at once (a barrier), each POSTing BODY to BASE/v1/completions, and prints one
JSON line per client: status, content_type, retry_after, the error code, the streamed text,
whether the stream ended with [DONE], and the seconds to the first text and to the end.
--close-after-first: each client closes its connection after the first text chunk.
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse


def one(base, key, body, start, close_after_first=False):
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
    start.wait()
    t0 = time.monotonic()
    out = {"status": None, "content_type": "", "retry_after": None, "code": None, "text": "", "done": False,
           "ttft": None, "seconds": None, "error_event": None}
    try:
        conn.request("POST", "/v1/completions", body=json.dumps(body),
                     headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
        res = conn.getresponse()
        out["status"] = res.status
        out["content_type"] = res.getheader("Content-Type", "")
        out["retry_after"] = res.getheader("Retry-After")
        if not out["content_type"].startswith("text/event-stream"):
            data = res.read()
            try:
                out["code"] = json.loads(data)["error"]["code"]
            except (ValueError, KeyError, TypeError):
                out["code"] = data.decode("utf-8", "replace")
        else:
            for raw in res:
                line = raw.decode("utf-8").rstrip("\n")
                if not line.startswith("data: "):
                    continue
                if line == "data: [DONE]":
                    out["done"] = True
                    break
                chunk = json.loads(line[6:])
                if "error" in chunk:
                    out["error_event"] = chunk["error"]["message"]
                    continue
                piece = chunk["choices"][0]["text"]
                if piece and out["ttft"] is None:
                    out["ttft"] = time.monotonic() - t0
                out["text"] += piece
                if close_after_first and piece:
                    break
    except (OSError, http.client.HTTPException) as e:
        out["exception"] = repr(e)
    finally:
        conn.close()
    out["seconds"] = time.monotonic() - t0
    return out


def run(base, key, n, body, close_after_first=False):
    start = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        results[i] = one(base, key, body, start, close_after_first)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


if __name__ == "__main__":
    base, key, n, body = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
    for r in run(base, key, n, body, "--close-after-first" in sys.argv[5:]):
        print(json.dumps(r))

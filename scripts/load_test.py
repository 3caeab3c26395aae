"""Bounded load test of the REST server on loopback.

    python scripts/load_test.py MODEL [--requests 2000] [--clients 8] [--report metrics/load.json]

Starts ``spacy_mtl serve`` on a free loopback port, sends REQUESTS requests
from CLIENTS concurrent clients (a mix of single texts, small batches, and
bad requests that must get a 4xx), then stops the server. Prints and writes
error counts and latency percentiles. Every loop is bounded by count and time.
"""
import argparse
import json
import random
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from spacy_mtl.client import free_port, wait_until_up

TEXTS = ["我爱北京天安门。", "他在2008年去了上海，然后回到北京。", "今天天气很好！", "iPhone售价很高", "好"]


def request(url: str, body: dict, timeout: float = 60.0):
    data = json.dumps(body).encode("utf8")
    req = urllib.request.Request(url + "/parse", data=data, headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as err:
        status = err.code
    except OSError:
        status = -1  # connection refused/reset or timed out
    return status, time.perf_counter() - start


def run(model: str, n_requests: int, clients: int, max_seconds: float, seed: int = 0) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "spacy_mtl", "serve", "-m", model, "--port", str(port),
                               "--max-chars", "2000", "--max-batch", "16"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(url, 120, server)
        rng = random.Random(seed)
        jobs = []
        for i in range(n_requests):
            kind = rng.random()
            if kind < 0.05:
                jobs.append(({"text": "长" * 3000}, 413))
            elif kind < 0.08:
                jobs.append(({"text": "好", "tasks": ["no_such_task"]}, 400))
            elif kind < 0.3:
                jobs.append(({"texts": rng.sample(TEXTS, 3)}, 200))
            else:
                jobs.append(({"text": rng.choice(TEXTS)}, 200))
        stop_at = time.time() + max_seconds
        results = []

        def worker(job):
            if time.time() > stop_at:
                return None
            body, expected = job
            status, seconds = request(url, body)
            return status, expected, seconds

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            results = [r for r in pool.map(worker, jobs) if r is not None]
        wall = time.perf_counter() - started
        alive = request(url, {"text": "还活着吗？"})[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    ok = [s for status, expected, s in results if status == expected == 200]
    unexpected = [(status, expected) for status, expected, _ in results if status != expected]
    quantiles = statistics.quantiles(ok, n=100) if len(ok) >= 2 else [float("nan")] * 99
    return {
        "requests_sent": len(results), "clients": clients, "wall_seconds": wall,
        "requests_per_second": len(results) / wall if wall else 0.0,
        "unexpected_status": len(unexpected), "unexpected_examples": unexpected[:5],
        "expected_4xx": sum(1 for status, expected, _ in results if status == expected != 200),
        "p50_ms": 1000 * statistics.median(ok) if ok else None, "p99_ms": 1000 * quantiles[98] if ok else None,
        "server_alive_after": alive,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=600)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    report = run(args.model, args.requests, args.clients, args.max_seconds)
    print(json.dumps(report, indent=2))
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

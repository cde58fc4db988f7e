"""A small load generator (no wrk on the machine): N threads, each sending GET requests one after another
for a fixed time over plain HTTP/1.1 to 127.0.0.1, recording each request's latency."""
from __future__ import annotations

import http.client
import statistics
import threading
import time
from dataclasses import dataclass


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    @property
    def median(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


def get(port: int, path: str, headers: dict | None = None, timeout: float = 60) -> tuple[int, float]:
    """One request; (status, milliseconds)."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status, (time.perf_counter() - start) * 1000
    finally:
        conn.close()


def run(port: int, path: str, *, headers: dict | None = None, connections: int = 16,
        duration: float = 10.0) -> LoadResult:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + duration

    def worker():
        mine, bad = [], 0
        while time.perf_counter() < deadline:
            try:
                status, ms = get(port, path, headers)
            except OSError:
                bad += 1
                continue
            if status == 200:
                mine.append(ms)
            else:
                bad += 1
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return LoadResult(len(latencies), errors[0], elapsed, latencies)


def serial(port: int, path: str, *, headers: dict | None = None, count: int = 20) -> float:
    """Median milliseconds of *count* requests one after another (the page's server time, unloaded)."""
    times = []
    for _ in range(count):
        status, ms = get(port, path, headers)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
        times.append(ms)
    return statistics.median(times)

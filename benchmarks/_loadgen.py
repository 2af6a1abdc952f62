"""A bounded HTTP load generator, for machines without ``wrk``.

``python _loadgen.py URL CONNECTIONS SECONDS`` keeps CONNECTIONS keep-alive
HTTP/1.1 connections busy for SECONDS, each with one request at a time (a closed
loop, as ``wrk`` does), and prints one JSON line: requests, seconds, requests/s,
p50/p99 latency in microseconds, non-2xx responses and socket errors. It runs in a
process of its own, beside the server; being Python, it takes a core's worth of CPU
that ``wrk`` would not, so its figures are lower and only comparable with each other.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from urllib.parse import urlsplit


async def _connection(
    host: str, port: int, request: bytes, deadline: float, latencies: list[int], bad: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    perf = time.perf_counter_ns
    try:
        while time.perf_counter() < deadline:
            t0 = perf()
            writer.write(request)
            status = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(perf() - t0)
            if not status.startswith(b"HTTP/1.1 2"):
                bad[0] += 1
    except (OSError, asyncio.IncompleteReadError):
        bad[1] += 1
    finally:
        writer.close()


async def _load(url: str, connections: int, seconds: float) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    latencies: list[int] = []
    bad = [0, 0]  # non-2xx responses, socket errors
    t0 = time.perf_counter()
    deadline = t0 + seconds
    await asyncio.gather(
        *[_connection(host, port, request, deadline, latencies, bad) for _ in range(connections)]
    )
    elapsed = time.perf_counter() - t0
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] / 1e3

    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50_us": pct(0.50) if latencies else 0.0,
        "p99_us": pct(0.99) if latencies else 0.0,
        "non_2xx": bad[0],
        "socket_errors": bad[1],
    }


def main() -> None:
    url, connections, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    print(json.dumps(asyncio.run(_load(url, connections, seconds))))


if __name__ == "__main__":
    main()

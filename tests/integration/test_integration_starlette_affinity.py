"""Starlette ``def`` endpoints using the app's loop-bound objects, under load.

``starlette_affinity_app`` shares a connection pool (an ``asyncio.Queue`` of streams
to a small TCP counter server) and an ``asyncio.Lock``, both made at startup on the
app's loop, between ``async def`` endpoints and ``def`` endpoints -- which Starlette
runs in anyio's threadpool, and which call the decorated async helpers as plain
functions (or through ``call_any``). Loop affinity brings those calls back to the
app's loop: 200 requests, 32 at a time, all succeed, every increment is counted
once (the pool and the lock work across all three kinds of endpoint), and no helper
ran on another loop. (Before, the threadpool's calls ran on synchronaut's
background loop: the queue, the streams and the lock failed or hung there.)
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from server import server_output, uvicorn_server

HERE = Path(__file__).parent

REQUESTS = 200
CONCURRENCY = 32
PATHS = ["/sync", "/sync-call-any", "/async"]


async def _load(base: str) -> list[httpx.Response]:
    limit = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=base,
        timeout=60,
        limits=httpx.Limits(max_connections=CONCURRENCY),
    ) as client:

        async def one(index: int) -> httpx.Response:
            async with limit:
                return await client.get(PATHS[index % len(PATHS)])

        return await asyncio.gather(*(one(index) for index in range(REQUESTS)))


def test_def_endpoints_share_the_apps_pool_and_lock_under_load() -> None:
    with uvicorn_server("starlette_affinity_app:app", HERE) as base:
        responses = asyncio.run(_load(base))
        stats: dict[str, Any] = httpx.get(base + "/stats", timeout=10).json()
    problems = [
        (r.request.url.path, r.status_code, r.text[:200]) for r in responses if r.status_code != 200
    ]
    assert problems == []
    bodies = [response.json() for response in responses]
    # Every query got its own number from the database, none lost or repeated; and
    # every guarded increment counted.
    assert sorted(body["incr"] for body in bodies) == list(range(1, REQUESTS + 1))
    assert sorted(body["guarded"] for body in bodies) == list(range(1, REQUESTS + 1))
    assert stats == {"db_counter": REQUESTS, "guarded": REQUESTS, "wrong_loop": 0}
    output = server_output[-1]
    assert "Traceback" not in output, output

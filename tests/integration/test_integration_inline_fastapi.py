"""Inline mode under a real server: FastAPI on uvicorn, a sync service over an async client.

Each request's endpoint runs the sync service layer inline; the service makes five
``call_any`` calls of an ``httpx.AsyncClient`` (bound to the app's loop) to a second
local server. 200 requests at once get the right answers, and every one of them ran
on the loop's own thread: one thread serves them all, no worker thread is involved.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("greenlet")
from inline_apps import CALLS_PER_REQUEST
from server import server_output, uvicorn_server

HERE = Path(__file__).parent
REQUESTS = 200


async def _many(base: str) -> list[dict[str, Any]]:
    limits = httpx.Limits(max_connections=REQUESTS, max_keepalive_connections=REQUESTS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:

        async def one(n: int) -> dict[str, Any]:
            response = await client.get(f"/total/{n}")
            response.raise_for_status()
            return response.json()

        return list(await asyncio.gather(*(one(n) for n in range(REQUESTS))))


@pytest.mark.timeout(600)  # two servers and 1 200 requests: slow on a loaded machine
def test_200_concurrent_requests_run_the_sync_service_inline_on_one_thread() -> None:
    with (
        uvicorn_server("inline_apps:upstream", HERE) as upstream,
        uvicorn_server("inline_apps:app", HERE, env={"UPSTREAM": upstream}) as base,
    ):
        results = asyncio.run(_many(base))
        info = httpx.get(base + "/loop-thread", timeout=10).json()
    for n, result in enumerate(results):
        expected = sum(2 * (n + i) for i in range(CALLS_PER_REQUEST))
        assert (result["n"], result["total"]) == (n, expected)
    assert {result["thread"] for result in results} == {info["thread"]}
    # Nothing was offloaded: synchronaut started no thread (no worker, no loop).
    assert [name for name in info["thread_names"] if name.startswith("synchronaut")] == []
    for output in server_output[-2:]:
        assert "Traceback" not in output, output

"""Two apps for the inline-mode integration test, served by uvicorn in child processes.

``upstream``: an async JSON service (``/double/{n}``). ``app``: a FastAPI app whose
endpoint runs a sync service layer inline (``call_any(..., inline=True)``); the
service reaches the upstream through an ``httpx.AsyncClient`` -- an object bound to
the app's event loop -- with plain ``call_any`` calls, five per request, and says
which thread ran it.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from synchronaut import call_any

CALLS_PER_REQUEST = 5

upstream = FastAPI()


@upstream.get("/double/{n}")
async def double(n: int) -> dict[str, int]:
    await asyncio.sleep(0.001)  # a little latency: requests overlap
    return {"value": 2 * n}


class Service:
    """The sync business logic: written once, its I/O through an async client."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    def fetch(self, n: int) -> int:
        response = call_any(self.client.get, f"/double/{n}")  # awaited by the request task
        response.raise_for_status()
        return response.json()["value"]

    def total(self, n: int) -> dict[str, Any]:
        values = [self.fetch(n + i) for i in range(CALLS_PER_REQUEST)]
        return {"n": n, "total": sum(values), "thread": threading.get_ident()}


state: dict[str, Any] = {}


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    limits = httpx.Limits(max_connections=300, max_keepalive_connections=300)
    # A generous timeout: on a loaded machine 1 000 upstream calls queue for a while.
    client = httpx.AsyncClient(base_url=os.environ["UPSTREAM"], limits=limits, timeout=120)
    async with client:
        state["service"] = Service(client)
        state["loop_thread"] = threading.get_ident()
        yield


app = FastAPI(lifespan=lifespan)


@app.get("/total/{n}")
async def total(n: int) -> dict[str, Any]:
    return await call_any(state["service"].total, n, inline=True)


@app.get("/loop-thread")
async def loop_thread() -> dict[str, Any]:
    names = [thread.name for thread in threading.enumerate()]
    return {"thread": state["loop_thread"], "thread_names": names}

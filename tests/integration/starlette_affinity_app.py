"""A Starlette app whose ``def`` endpoints call async code bound to the app's loop.

At startup (lifespan, on the app's loop) it starts a tiny counter "database" -- an
asyncio TCP server on 127.0.0.1 -- and opens a pool of four connections to it in an
``asyncio.Queue``, and makes an ``asyncio.Lock``. All of them belong to the app's
loop: the pool's queue, the connections' streams and the lock may only be used
there. ``async def`` endpoints await the decorated helpers directly; ``def``
endpoints (Starlette runs them in anyio's threadpool) call the same helpers as plain
functions, or through ``call_any`` -- which must bring them back to the app's loop.

``/stats`` tells how many increments the database and the lock-guarded counter saw,
and how many helper calls ran on a loop other than the app's (must be none).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from synchronaut import call_any, synchronaut


class State:
    loop: asyncio.AbstractEventLoop
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
    lock: asyncio.Lock
    server: asyncio.Server
    db_counter = 0  # the database's own count of INCR commands
    guarded = 0  # incremented under the lock, with a yield in between
    wrong_loop = 0  # helper calls that ran on another loop than the app's


state = State()

POOL_SIZE = 4


async def serve_db(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The "database": answers each ``INCR`` line with the counter's new value."""
    try:
        while line := await reader.readline():
            if line.strip() != b"INCR":
                writer.write(b"ERR\n")
            else:
                state.db_counter += 1
                writer.write(f"{state.db_counter}\n".encode())
            await writer.drain()
    finally:
        writer.close()


def _check_loop() -> None:
    if asyncio.get_running_loop() is not state.loop:
        state.wrong_loop += 1


@synchronaut
async def incr() -> int:
    """One query through the pool: waits for a free connection when all are busy."""
    _check_loop()
    reader, writer = await state.pool.get()
    try:
        writer.write(b"INCR\n")
        await writer.drain()
        return int(await reader.readline())
    finally:
        state.pool.put_nowait((reader, writer))


@synchronaut
async def guarded_increment() -> int:
    """A read-modify-write that loses updates unless the lock really excludes."""
    _check_loop()
    async with state.lock:
        value = state.guarded
        await asyncio.sleep(0)
        state.guarded = value + 1
        return state.guarded


def sync_endpoint(request: Request) -> JSONResponse:
    # A def endpoint: Starlette runs it in anyio's threadpool. The decorated
    # coroutine functions are plain calls here.
    return JSONResponse({"incr": incr(), "guarded": guarded_increment()})


def sync_call_any_endpoint(request: Request) -> JSONResponse:
    return JSONResponse({"incr": call_any(incr), "guarded": call_any(guarded_increment)})


async def async_endpoint(request: Request) -> JSONResponse:
    return JSONResponse({"incr": await incr(), "guarded": await guarded_increment()})


async def stats(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "db_counter": state.db_counter,
            "guarded": state.guarded,
            "wrong_loop": state.wrong_loop,
        }
    )


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    state.loop = asyncio.get_running_loop()
    state.lock = asyncio.Lock()
    state.server = await asyncio.start_server(serve_db, "127.0.0.1", 0)
    port = state.server.sockets[0].getsockname()[1]
    state.pool = asyncio.Queue()
    connections: list[Any] = []
    for _ in range(POOL_SIZE):
        connection = await asyncio.open_connection("127.0.0.1", port)
        connections.append(connection)
        state.pool.put_nowait(connection)
    try:
        yield
    finally:
        for _, writer in connections:
            writer.close()
        state.server.close()
        await state.server.wait_closed()


app = Starlette(
    routes=[
        Route("/sync", sync_endpoint),
        Route("/sync-call-any", sync_call_any_endpoint),
        Route("/async", async_endpoint),
        Route("/stats", stats),
    ],
    lifespan=lifespan,
)

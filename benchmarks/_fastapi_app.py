"""The FastAPI service of the FastAPI benchmark: one app, one route per variant.

``python _fastapi_app.py DB LOOP`` serves it with uvicorn as deployed (one worker,
the ``LOOP`` event loop -- ``uvloop`` or ``asyncio`` --, httptools when installed,
no access log) on a free port of 127.0.0.1, and prints one JSON line once it
listens: the port, the routes (variant name -> path, or why it cannot run here) and
the measured cost of the Python part of the work. The parent loads it from another
process (``cases_fastapi.py``) and stops it with SIGINT.

Every route does the same sync work -- a sqlite3 query on a connection of the thread
that runs it, plus about 50 us of pure Python -- and differs only in how the work
gets off the event loop. A variant is one function registered with ``@variant``:
it adds its route to the app, or returns why it cannot (a peer not installed).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, FastAPI

from synchronaut_core import call_any

try:
    from synchronaut import synchronaut
except ImportError:  # the meta-package is not installed: its variants are n/a
    synchronaut = None
try:
    from asgiref.sync import async_to_sync, sync_to_async
except ImportError:
    async_to_sync = sync_to_async = None

DB = sys.argv[1] if __name__ == "__main__" else ":memory:"
ROWS = 1_000
WORK_LOOPS = 400  # recalibrated at startup to about 50 us (see _calibrate)

# --- the work ---------------------------------------------------------------------------

_local = threading.local()
_keys = itertools.count()


def connection() -> sqlite3.Connection:
    """This thread's connection, made on first use. ``check_same_thread`` is on:
    a connection used from another thread than its own raises, so a variant that
    claims one shared thread is checked by every request."""
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = sqlite3.connect(DB)
    return conn


def python_work(loops: int) -> int:
    acc = 0
    for i in range(loops):
        acc = (acc + i * i) % 1_000_003
    return acc


def work() -> dict[str, Any]:
    """The request's sync work: one indexed query and ~50 us of Python."""
    return _work(0)


def _work(extra: int) -> dict[str, Any]:
    key = next(_keys) % ROWS + 1
    name, price = (
        connection().execute("SELECT name, price FROM items WHERE id = ?", (key,)).fetchone()
    )
    return {"id": key, "name": name, "price": price, "check": python_work(WORK_LOOPS) + extra}


async def fetch(i: int) -> int:
    """An async call the business logic makes (a cache or an HTTP client would)."""
    await asyncio.sleep(0)
    return i


def business_ours() -> dict[str, Any]:
    """Sync business logic making 5 async calls through synchronaut, then the work."""
    return _work(sum(call_any(fetch, i) for i in range(5)))


def business_asgiref() -> dict[str, Any]:
    assert async_to_sync is not None
    return _work(sum(async_to_sync(fetch)(i) for i in range(5)))


# --- the variants --------------------------------------------------------------------------

app = FastAPI()
Register = Callable[[FastAPI, str], str]  # adds the route at the path; returns "" or why not
VARIANTS: dict[str, Register] = {}


def variant(name: str) -> Callable[[Register], Register]:
    def register(func: Register) -> Register:
        VARIANTS[name] = func
        return func

    return register


NO_META = "the synchronaut meta-package is not importable"
NO_ASGIREF = "asgiref is not installed (uv sync --group bench)"


@variant("FastAPI def endpoint")
def _def(app: FastAPI, path: str) -> str:
    app.get(path)(work)  # FastAPI runs a def endpoint in anyio's threadpool
    return ""


class Repository:
    """What a def dependency typically hands the endpoint: the request's service."""

    def item(self) -> dict[str, Any]:
        return work()


def get_repository() -> Repository:
    return Repository()


@variant("FastAPI def endpoint + def dependency")
def _def_dep(app: FastAPI, path: str) -> str:
    # Two trips to the threadpool per request: the dependency, then the endpoint.
    def endpoint(repo: Repository = Depends(get_repository)) -> dict[str, Any]:  # noqa: B008
        return repo.item()

    app.get(path)(endpoint)
    return ""


def _serve_awaiting(app: FastAPI, path: str, call: Callable[[], Awaitable[Any]]) -> str:
    """Serve ``path`` with ``async def endpoint(): return await call()``."""

    async def endpoint() -> dict[str, Any]:
        return await call()

    app.get(path)(endpoint)
    return ""


@variant("async def + await decorated .async_()")
def _decorated(app: FastAPI, path: str) -> str:
    if synchronaut is None:
        return NO_META
    item = synchronaut(work)
    return _serve_awaiting(app, path, lambda: item.async_())


@variant("async def + await asgiref sync_to_async(thread_sensitive=False)")
def _asgiref(app: FastAPI, path: str) -> str:
    if sync_to_async is None:
        return NO_ASGIREF
    item = sync_to_async(work, thread_sensitive=False)
    return _serve_awaiting(app, path, lambda: item())


@variant("async def + await loop.run_in_executor (reference: no ContextVars)")
def _bare(app: FastAPI, path: str) -> str:
    # The barest offload the standard library has -- the loop's default executor (the
    # same six threads), no ContextVars carried, no timeout, nothing else: what any
    # bridge's offload costs at least in this server.
    def run() -> Awaitable[dict[str, Any]]:
        return asyncio.get_running_loop().run_in_executor(None, work)

    return _serve_awaiting(app, path, run)


@variant("one shared connection: decorated thread_sensitive=True")
def _shared_ours(app: FastAPI, path: str) -> str:
    if synchronaut is None:
        return NO_META
    item = synchronaut(thread_sensitive=True)(work)  # every call on one dedicated thread
    return _serve_awaiting(app, path, lambda: item.async_())


@variant("one shared connection: asgiref thread_sensitive=True")
def _shared_asgiref(app: FastAPI, path: str) -> str:
    if sync_to_async is None:
        return NO_ASGIREF
    item = sync_to_async(work, thread_sensitive=True)  # asgiref's single shared thread
    return _serve_awaiting(app, path, lambda: item())


@variant("5 async calls: offloaded, call_any inside")
def _five_ours(app: FastAPI, path: str) -> str:
    # The logic runs in synchronaut's pool; its call_any(fetch) calls block that worker
    # thread while fetch runs on this (the offloading) loop.
    return _serve_awaiting(app, path, lambda: call_any(business_ours))


@variant("5 async calls: asgiref sync_to_async + async_to_sync")
def _five_asgiref(app: FastAPI, path: str) -> str:
    if sync_to_async is None:
        return NO_ASGIREF
    item = sync_to_async(business_asgiref, thread_sensitive=False)
    return _serve_awaiting(app, path, lambda: item())


def inline_supported() -> bool:
    """Whether ``call_any`` takes ``inline=`` (the inline mode of issue 16)."""
    from synchronaut_core import _call

    return "inline" in getattr(_call, "_OPTION_NAMES", ())


@variant("5 async calls: inline")
def _five_inline(app: FastAPI, path: str) -> str:
    if not inline_supported():
        return "inline mode not merged"
    # The logic runs on this loop's thread; each call_any(fetch) inside is awaited right
    # here, in this task.
    return _serve_awaiting(app, path, lambda: call_any(business_ours, inline=True))


# --- serving ---------------------------------------------------------------------------------


def _build_db() -> None:
    conn = sqlite3.connect(DB)
    conn.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT, price REAL)")
    conn.execute("DELETE FROM items")
    conn.executemany(
        "INSERT INTO items VALUES (?, ?, ?)",
        [(i, f"item {i}", i * 0.25) for i in range(1, ROWS + 1)],
    )
    conn.commit()
    conn.close()


def _calibrate(goal_us: float = 50.0) -> float:
    """Set WORK_LOOPS so that python_work takes about ``goal_us``; return its cost."""
    global WORK_LOOPS

    def cost(loops: int) -> float:
        samples = []
        for _ in range(50):
            t0 = time.perf_counter_ns()
            python_work(loops)
            samples.append(time.perf_counter_ns() - t0)
        return sorted(samples)[len(samples) // 4] / 1e3  # a low quartile: the unloaded cost

    WORK_LOOPS = max(1, round(WORK_LOOPS * goal_us / cost(WORK_LOOPS)))
    return cost(WORK_LOOPS)


def routes() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for i, (name, register) in enumerate(VARIANTS.items()):
        path = f"/v{i}"
        why = register(app, path)
        out[name] = {"path": path, "na": why}
    app.get("/health")(lambda: {"ok": True})
    return out


def main() -> None:
    import uvicorn

    loop = sys.argv[2] if len(sys.argv) > 2 else "uvloop"
    _build_db()
    work_us = _calibrate()
    table = routes()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    try:
        import httptools  # noqa: F401

        http = "httptools"
    except ImportError:
        http = "h11"
    config = uvicorn.Config(
        app,
        loop=loop,
        http=http,
        workers=1,
        access_log=False,
        log_level="warning",
        lifespan="off",
        backlog=1024,
    )
    port = sock.getsockname()[1]
    info = {"port": port, "routes": table, "work_us": work_us, "loops": WORK_LOOPS, "http": http}
    print(json.dumps(info), flush=True)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()

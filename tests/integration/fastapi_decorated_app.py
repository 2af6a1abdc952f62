"""One FastAPI app built twice: with plain functions, and with the same ones decorated.

``plain_app`` and ``decorated_app`` have the same routes, endpoints and dependencies;
in ``decorated_app`` every one of them carries ``@synchronaut`` (some with options).
``app`` mounts both (``/plain``, ``/decorated``) under one server, with a middleware
recording when each response was sent, so that a test can compare, request by
request, what ran, in which order and on which kind of thread -- they must match.

Each request names itself with ``?rid=...``; ``/events?rid=...`` returns its record
once the request is completely over (every cleanup done).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from synchronaut import synchronaut

F = TypeVar("F", bound=Callable[..., Any])

#: rid -> what happened, in order: (event, kind of thread it ran on).
events: dict[str, list[tuple[str, str]]] = {}
#: rid -> set once the request is over (the ASGI call returned).
finished: dict[str, asyncio.Event] = {}
#: The thread running the server's event loop.
loop_thread: list[int] = []

#: ``Depends(..., scope="function")``: exit before the response is sent (newer FastAPI).
HAS_SCOPES = "scope" in inspect.signature(Depends).parameters


def thread_kind() -> str:
    thread = threading.current_thread()
    if loop_thread and thread.ident == loop_thread[0]:
        return "loop"
    if thread.name.startswith("AnyIO worker thread"):
        return "anyio worker"
    return thread.name.rstrip("0123456789-")  # (synchronaut-worker-3 -> synchronaut-worker)


def record(rid: str, what: str) -> None:
    events.setdefault(rid, []).append((what, thread_kind()))


def build(decorate: Callable[..., Any]) -> FastAPI:
    """The app, with ``decorate(options)`` applied to every endpoint and dependency.

    ``decorate({})`` gives the decorator to use (``synchronaut`` or the identity);
    ``decorate({"timeout": 5})`` one with options.
    """
    bare = decorate({})
    timed = decorate({"timeout": 30})

    @bare
    def sync_gen_dep(rid: str) -> Iterator[str]:
        record(rid, "sync gen: enter")
        try:
            yield "db"
        except HTTPException as exc:
            record(rid, f"sync gen: saw HTTPException {exc.status_code}")
            raise
        except Exception as exc:
            record(rid, f"sync gen: saw {type(exc).__name__}")
            raise
        finally:
            record(rid, "sync gen: exit")

    @timed
    async def async_gen_dep(rid: str, db: str = Depends(sync_gen_dep)) -> AsyncIterator[str]:
        record(rid, "async gen: enter")
        try:
            yield db + "+session"
        except HTTPException as exc:
            record(rid, f"async gen: saw HTTPException {exc.status_code}")
            raise
        except Exception as exc:
            record(rid, f"async gen: saw {type(exc).__name__}")
            raise
        finally:
            await asyncio.sleep(0)  # a real await in the cleanup
            record(rid, "async gen: exit")

    @timed
    def timed_sync_gen_dep(rid: str) -> Iterator[int]:
        record(rid, "timed sync gen: enter")
        try:
            yield 7
        finally:
            record(rid, "timed sync gen: exit")

    @bare
    def plain_sync_dep(rid: str, limit: int = 10) -> int:
        record(rid, "sync dep")
        return limit

    @timed
    async def plain_async_dep(rid: str) -> int:
        record(rid, "async dep")
        await asyncio.sleep(0)
        return 1

    router = APIRouter()

    def outcome(item_id: int) -> None:
        if item_id == 404:
            raise HTTPException(status_code=404, detail="no such item")
        if item_id == 500:
            raise ValueError("the endpoint failed")

    @router.get("/sync/{item_id}", response_model=dict[str, Any])
    @bare
    def sync_endpoint(
        item_id: int,
        rid: str,
        session: str = Depends(async_gen_dep),
        seven: int = Depends(timed_sync_gen_dep),
        limit: int = Depends(plain_sync_dep),
        one: int = Depends(plain_async_dep),
    ) -> dict[str, Any]:
        """A def endpoint: FastAPI runs it in its threadpool."""
        record(rid, "endpoint")
        outcome(item_id)
        return {"item_id": item_id, "session": session, "sum": seven + limit + one}

    @router.get("/async/{item_id}", response_model=dict[str, Any])
    @timed
    async def async_endpoint(
        item_id: int,
        rid: str,
        session: str = Depends(async_gen_dep),
        db: str = Depends(sync_gen_dep),
        limit: int = Depends(plain_sync_dep),
    ) -> dict[str, Any]:
        """An async def endpoint: FastAPI awaits it on its loop."""
        record(rid, "endpoint")
        outcome(item_id)
        return {"item_id": item_id, "session": session, "db": db, "limit": limit}

    if HAS_SCOPES:

        @router.get("/function-scope/{item_id}")
        @bare
        def function_scope_endpoint(
            item_id: int, rid: str, db: str = Depends(sync_gen_dep, scope="function")
        ) -> dict[str, Any]:
            """The dependency's exit runs before the response is sent."""
            record(rid, "endpoint")
            outcome(item_id)
            return {"item_id": item_id, "db": db}

    sub = FastAPI(title="decorated or not")
    sub.include_router(router)

    @sub.exception_handler(ValueError)
    async def value_error(request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=500)

    return sub


def _plain(options: dict[str, Any]) -> Callable[[F], F]:
    return lambda func: func


def _synchronaut(options: dict[str, Any]) -> Callable[[F], F]:
    return synchronaut(**options) if options else synchronaut  # type: ignore[return-value]


plain_app = build(_plain)
decorated_app = build(_synchronaut)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    loop_thread.append(threading.get_ident())
    yield


app = FastAPI(lifespan=lifespan)


@app.get("/events")
async def get_events(rid: str) -> list[tuple[str, str]]:
    """What request ``rid`` did, once it is over (all of its cleanup done)."""
    done = finished.setdefault(rid, asyncio.Event())
    await asyncio.wait_for(done.wait(), 10)
    return events.get(rid, [])


app.mount("/plain", plain_app)
app.mount("/decorated", decorated_app)


class RecordResponses:
    """ASGI middleware: records when each request's response body was sent, and when
    the request was over (the app returned, every dependency's cleanup done)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] == "/events":
            await self.app(scope, receive, send)
            return
        rid = parse_qs(scope.get("query_string", b"").decode()).get("rid", [""])[0]

        async def recording_send(message: dict[str, Any]) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                record(rid, f"response sent: {status[0]}")
            elif message["type"] == "http.response.start":
                status[0] = message["status"]

        status = [0]
        try:
            await self.app(scope, receive, recording_send)
        finally:
            finished.setdefault(rid, asyncio.Event()).set()


app.add_middleware(RecordResponses)

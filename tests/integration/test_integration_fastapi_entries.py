"""``f.async_`` as a FastAPI endpoint and dependency (issue 14, item 4).

FastAPI reads an endpoint's signature (``inspect.signature``, annotations evaluated in
the function's module, found through ``__wrapped__``) and awaits it on its loop when
it is a coroutine function, else runs it in its threadpool. ``.async_`` of a
decorated ``def`` has the original's signature and is a coroutine function, so
``app.get(...)(f.async_)`` and ``Depends(f.async_)`` behave as the plain function
would -- parameters, validation, the OpenAPI schema -- and the ``def`` runs in one of
synchronaut's worker threads, not on the loop. Run in-process through httpx's ASGI
transport (no socket), on every backend.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import httpx
import pytest

fastapi = pytest.importorskip("fastapi")
from fastapi import Depends, FastAPI, Header, HTTPException  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from synchronaut import synchronaut  # noqa: E402


class Item(BaseModel):
    """A model defined here: FastAPI must resolve the string annotation in this module."""

    id: int
    name: str
    thread: str = ""


class User(BaseModel):
    name: str


@synchronaut
def read_item(item_id: int, q: str | None = None) -> Item:
    """Read one item."""
    return Item(id=item_id, name=q or "none", thread=threading.current_thread().name)


@synchronaut
def current_user(x_token: Annotated[str, Header()]) -> User:
    if x_token != "secret":
        raise HTTPException(status_code=401, detail="bad token")
    return User(name="alice")


@synchronaut
async def async_user(x_token: Annotated[str, Header()]) -> User:
    return current_user.__wrapped__(x_token)


class Catalog:
    """A service object: a bound method's ``.async_`` as a dependency."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @synchronaut
    def label(self, item_id: int) -> str:
        return f"{self.prefix}-{item_id}@{threading.current_thread().name}"


CATALOG = Catalog("cat")


def build(decorated: bool) -> FastAPI:
    """The same app, from the ``.async_`` entries or from the plain functions."""
    app = FastAPI()

    def pick(wrapper: Any) -> Any:
        return wrapper.async_ if decorated else wrapper.__wrapped__

    user_dep = pick(current_user)
    async_user_dep = pick(async_user)
    label_dep = CATALOG.label.async_ if decorated else CATALOG.label.__wrapped__

    app.get("/items/{item_id}")(pick(read_item))

    # (Dependencies as defaults: this module's annotations are strings, evaluated in
    # its globals, where the local names below do not exist.)

    @app.get("/me")
    async def me(user: User = Depends(user_dep)) -> User:  # noqa: B008
        return user

    @app.get("/me/async")
    async def me_async(user: User = Depends(async_user_dep)) -> User:  # noqa: B008
        return user

    @app.get("/labels/{item_id}")
    def label(text: str = Depends(label_dep)) -> dict[str, str]:
        return {"label": text}

    @app.get("/loop")
    async def loop_thread() -> dict[str, str]:
        return {"thread": threading.current_thread().name}

    return app


Client = httpx.AsyncClient


def serve(
    run: Callable[..., Any], decorated: bool, body: Callable[[Client], Awaitable[Any]]
) -> Any:
    """Run ``body(client)`` against the app, in the backend's event loop."""

    async def main() -> Any:
        transport = httpx.ASGITransport(app=build(decorated))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await body(client)

    return run(main)


BOTH = pytest.mark.parametrize("decorated", [True, False], ids=["async_", "plain"])


@BOTH
def test_an_async_entry_as_an_endpoint_takes_the_originals_parameters(
    run: Callable[..., Any], decorated: bool
) -> None:
    async def body(client: Client) -> None:
        response = await client.get("/items/3", params={"q": "lamp"})
        assert response.status_code == 200
        got = response.json()
        assert (got["id"], got["name"]) == (3, "lamp")
        assert (await client.get("/items/4")).json()["name"] == "none"
        # Validation from the original's annotations: a non-integer id is a 422.
        assert (await client.get("/items/x")).status_code == 422

    serve(run, decorated, body)


@BOTH
def test_an_async_entry_as_a_dependency(run: Callable[..., Any], decorated: bool) -> None:
    async def body(client: Client) -> None:
        me = await client.get("/me", headers={"x-token": "secret"})
        assert me.json() == {"name": "alice"}
        assert (await client.get("/me")).status_code == 422  # the header is required
        denied = await client.get("/me", headers={"x-token": "nope"})
        assert (denied.status_code, denied.json()) == (401, {"detail": "bad token"})
        me_async = await client.get("/me/async", headers={"x-token": "secret"})
        assert me_async.json() == {"name": "alice"}

    serve(run, decorated, body)


@BOTH
def test_a_bound_methods_async_entry_as_a_dependency(
    run: Callable[..., Any], decorated: bool
) -> None:
    async def body(client: Client) -> None:
        response = await client.get("/labels/5")
        assert response.status_code == 200
        assert response.json()["label"].startswith("cat-5@")
        assert (await client.get("/labels/x")).status_code == 422

    serve(run, decorated, body)


def test_the_def_runs_in_a_worker_thread_not_on_the_loop(run: Callable[..., Any]) -> None:
    async def body(client: Client) -> tuple[str, str, str]:
        loop_thread = (await client.get("/loop")).json()["thread"]
        item_thread = (await client.get("/items/1")).json()["thread"]
        label = (await client.get("/labels/1")).json()["label"]
        return loop_thread, item_thread, label.rpartition("@")[2]

    loop_thread, item_thread, label_thread = serve(run, True, body)
    assert item_thread != loop_thread
    assert label_thread != loop_thread


def test_the_openapi_schema_is_the_undecorated_apps() -> None:
    assert build(decorated=True).openapi() == build(decorated=False).openapi()

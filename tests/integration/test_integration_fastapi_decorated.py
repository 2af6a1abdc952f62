"""FastAPI with decorated endpoints and dependencies, served by a real uvicorn.

The same app is built twice -- plain, and with ``@synchronaut`` on every endpoint and
dependency (``fastapi_decorated_app``) -- and both are served side by side on
127.0.0.1. Every request is made to both: status, body, what ran, in which order
(cleanup after the response, last entered first left), on which kind of thread (the
loop, FastAPI's threadpool) and what the generator dependencies saw of the
endpoint's exception must be the same. So must the OpenAPI schema.

Before the decorated generator dependency could be driven by FastAPI, every
decorated route failed: ``TypeError: 'ThreadIterator' object is not an iterator``.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from server import server_output, uvicorn_server

HERE = Path(__file__).parent

_rids = itertools.count()

#: (route, item id): success, an HTTPException, an exception with a handler.
CASES = [
    (route, item_id) for route in ("sync", "async", "function-scope") for item_id in (1, 404, 500)
]


def _request(client: httpx.Client, flavour: str, route: str, item_id: int) -> dict[str, Any]:
    rid = f"{flavour}-{route}-{item_id}-{next(_rids)}"
    response = client.get(f"/{flavour}/{route}/{item_id}", params={"rid": rid})
    events = client.get("/events", params={"rid": rid})
    assert events.status_code == 200, events.text
    return {
        "status": response.status_code,
        "body": response.json(),
        "events": [tuple(event) for event in events.json()],
    }


def _both(client: httpx.Client, route: str, item_id: int) -> dict[str, Any]:
    plain = _request(client, "plain", route, item_id)
    decorated = _request(client, "decorated", route, item_id)
    assert decorated == plain, f"{route}/{item_id}"
    return plain


@pytest.fixture(scope="module")
def client() -> Any:
    import fastapi_decorated_app  # type: ignore[import-not-found]

    if not fastapi_decorated_app.HAS_SCOPES:
        CASES[:] = [case for case in CASES if case[0] != "function-scope"]
    with (
        uvicorn_server("fastapi_decorated_app:app", HERE) as base,
        httpx.Client(base_url=base, timeout=30) as http,
    ):
        yield http
    output = server_output[-1]
    assert "Traceback" not in output, output
    assert "Error" not in output, output


def test_every_request_behaves_as_with_the_undecorated_app(client: httpx.Client) -> None:
    for route, item_id in CASES:
        _both(client, route, item_id)


def test_what_the_undecorated_app_does_is_what_we_expect(client: httpx.Client) -> None:
    """The comparison above is not vacuous: the plain app's record, spelled out."""
    ok = _both(client, "sync", 1)
    assert ok["status"] == 200
    assert ok["body"] == {"item_id": 1, "session": "db+session", "sum": 18}
    assert ok["events"] == [
        ("sync gen: enter", "anyio worker"),  # a sync generator: FastAPI's threadpool
        ("async gen: enter", "loop"),
        ("timed sync gen: enter", "anyio worker"),
        ("sync dep", "anyio worker"),
        ("async dep", "loop"),
        ("endpoint", "anyio worker"),  # a def endpoint: the threadpool
        ("response sent: 200", "loop"),
        # Cleanup after the response, in reverse order of entry.
        ("timed sync gen: exit", "anyio worker"),
        ("async gen: exit", "loop"),
        ("sync gen: exit", "anyio worker"),
    ]

    not_found = _both(client, "async", 404)
    assert not_found["status"] == 404
    assert not_found["body"] == {"detail": "no such item"}
    assert ("endpoint", "loop") in not_found["events"]  # an async def endpoint
    # The endpoint's exception is raised inside both generator dependencies.
    assert ("async gen: saw HTTPException 404", "loop") in not_found["events"]
    assert ("sync gen: saw HTTPException 404", "anyio worker") in not_found["events"]

    failed = _both(client, "sync", 500)
    assert (failed["status"], failed["body"]) == (500, {"detail": "the endpoint failed"})
    assert ("sync gen: saw ValueError", "anyio worker") in failed["events"]
    assert failed["events"][-1] == ("response sent: 500", "loop")  # the handler's, last

    if any(route == "function-scope" for route, _ in CASES):
        scoped = _both(client, "function-scope", 1)
        assert [event for event, _ in scoped["events"]] == [
            "sync gen: enter",
            "endpoint",
            "sync gen: exit",  # scope="function": before the response
            "response sent: 200",
        ]


def test_under_concurrent_requests(client: httpx.Client) -> None:
    """Every case, 4 times over, 8 requests at a time: still the same, request by
    request (each one's record is its own)."""
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda case: _both(client, *case), CASES * 4))
    assert len(results) == len(CASES) * 4


def test_the_openapi_schema_is_the_undecorated_apps(client: httpx.Client) -> None:
    import fastapi_decorated_app  # type: ignore[import-not-found]

    plain = fastapi_decorated_app.plain_app.openapi()
    assert fastapi_decorated_app.decorated_app.openapi() == plain
    # The parameters FastAPI found through the decorator: the originals' (rid comes
    # from each dependency, limit from plain_sync_dep, item_id from the path).
    parameters = plain["paths"]["/sync/{item_id}"]["get"]["parameters"]
    assert [(p["name"], p["in"]) for p in parameters] == [
        ("item_id", "path"),
        ("rid", "query"),
        ("limit", "query"),
    ]
    served = [client.get(f"/{flavour}/openapi.json").json() for flavour in ("plain", "decorated")]
    for schema in served:
        schema.pop("servers", None)  # the mount point
    assert served[0] == served[1] == plain

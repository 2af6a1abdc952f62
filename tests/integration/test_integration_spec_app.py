"""The spec's FastAPI app (examples/app.py), served by a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
from server import server_output, uvicorn_server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_fastapi_example_routes() -> None:
    with (
        uvicorn_server("app:app", EXAMPLES) as base,
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        root = client.get("/")
        assert root.status_code == 200
        assert root.json() == ["Hello, @syncronauts!"]

        alice = client.get("/users/1")
        assert (alice.status_code, alice.json()) == (200, {"id": 1, "name": "Alice"})

        bob = client.get("/users/2")
        assert (bob.status_code, bob.json()) == (200, {"id": 2, "name": "Bob"})

        missing = client.get("/users/3")
        assert missing.status_code == 404
        assert missing.text == '{"detail":"User not found"}'
    assert "Traceback" not in server_output[-1]


def test_fastapi_sees_the_original_dependency_signature() -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        import app  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(EXAMPLES))
    schema = app.app.openapi()
    params = schema["paths"]["/users/{user_id}"]["get"]["parameters"]
    assert [(p["name"], p["in"], p["schema"]["type"]) for p in params] == [
        ("user_id", "path", "integer")
    ]

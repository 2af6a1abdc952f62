"""The spec's FastAPI app, served by a real uvicorn on 127.0.0.1, answers as the spec says."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=EXAMPLES,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read() if proc.stdout else ""
                    pytest.fail(f"uvicorn did not start:\n{out}")
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def test_fastapi_example_routes(server: str) -> None:
    with httpx.Client(base_url=server, timeout=10) as client:
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

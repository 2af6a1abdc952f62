"""Real databases behind real servers: thread-bound connections used from async code."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from server import server_output, uvicorn_server

HERE = Path(__file__).parent
EXAMPLES = HERE.parents[1] / "examples"


def test_sqlalchemy_session_behind_fastapi_takes_200_concurrent_requests(tmp_path) -> None:
    db = tmp_path / "rows.sqlite3"
    with uvicorn_server("sqlalchemy_app:app", HERE, {"SQLALCHEMY_APP_DB": str(db)}) as base:

        async def hammer() -> list[httpx.Response]:
            limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
            async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
                return await asyncio.gather(*(client.post(f"/rows/key-{i}") for i in range(200)))

        responses = asyncio.run(hammer())
        assert [r.status_code for r in responses] == [200] * 200
        assert [r.json()["key"] for r in responses] == [f"key-{i}" for i in range(200)]
        assert httpx.get(base + "/rows/count", timeout=10).json() == {"count": 200}
    assert "Traceback" not in server_output[-1]
    assert "ProgrammingError" not in server_output[-1]


def test_fastapi_sqlite_example_serves_notes(tmp_path) -> None:
    db = tmp_path / "notes.sqlite3"
    with uvicorn_server("fastapi_sqlite:app", EXAMPLES, {"NOTES_DB": str(db)}) as base:
        with httpx.Client(base_url=base, timeout=10) as client:
            created = [client.post("/notes", json={"text": f"note {i}"}) for i in range(5)]
            assert [r.status_code for r in created] == [201] * 5
            assert client.get("/notes/3").json() == {"id": 3, "text": "note 2"}
            assert client.get("/notes/99").status_code == 404
            assert len(client.get("/notes").json()) == 5
            assert client.get("/db-thread").json() == {"thread": "synchronaut-sensitive-1"}

        async def concurrent() -> list[int]:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                replies = await asyncio.gather(
                    *(client.post("/notes", json={"text": f"c{i}"}) for i in range(50))
                )
                return [r.status_code for r in replies]

        assert asyncio.run(concurrent()) == [201] * 50
        assert len(httpx.get(base + "/notes", timeout=10).json()) == 55
    assert "Traceback" not in server_output[-1]

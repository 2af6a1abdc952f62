"""A real Django project (``django_project``) under uvicorn, through its ASGI handler.

Async views reach the ORM through ``@synchronaut(thread_sensitive=True)`` functions,
sync views call async code through synchronaut, and a middleware gives each request
a ``thread_sensitive_context()`` and closes its connections on that thread (the
pattern the README shows). The server runs in a subprocess on 127.0.0.1 and a free
port, over a SQLite file in the test's temporary directory, and is stopped by the test.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Generator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import httpx
from server import server_output, uvicorn_server

HERE = Path(__file__).parent
LOOP_THREAD = "MainThread"  # uvicorn runs its event loop on the main thread
REQUEST_THREAD = "synchronaut-sensitive-block-"  # a thread_sensitive_context() thread


@contextmanager
def django_server(tmp_path: Path, **extra_env: str) -> Generator[tuple[str, Path]]:
    """Migrate a fresh SQLite database, serve the project; yield (base URL, db path)."""
    db = tmp_path / "notes.sqlite3"
    env = {
        "DJANGO_SETTINGS_MODULE": "django_project.settings",
        "DJANGO_PROJECT_DB": str(db),
        **extra_env,
    }
    python_path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--noinput", "--verbosity", "0"],
        env={**os.environ, **env, "PYTHONPATH": python_path},
        check=True,
        timeout=60,
    )
    with uvicorn_server("django_project.asgi:application", HERE, env) as base:
        yield base, db


def rows_in(db: Path) -> list[tuple[int, str, str]]:
    """Every note, read straight from the file (not through the server)."""
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("select id, text, thread from notes_note order by id").fetchall()


def diag(base: str) -> dict[str, Any]:
    return httpx.get(base + "/diag/", timeout=10).json()


def server_problems(output: str) -> list[str]:
    needles = ("Traceback", "SynchronousOnlyOperation", "database is locked", "Error")
    return [line for line in output.splitlines() if any(n in line for n in needles)]


def test_django_takes_200_concurrent_reads_and_writes_with_no_lost_row(tmp_path: Path) -> None:
    with django_server(tmp_path) as (base, db):
        seed = httpx.post(base + "/async/notes/", json={"text": "seed"}, timeout=10).json()

        # Ten kinds of request, twenty of each, in an interleaved order.
        def request_for(i: int) -> tuple[str, str, dict[str, str] | None]:
            text = {"text": f"note-{i}"}
            return [
                ("write-async", "/async/notes/", text),
                ("write-batch", "/async/notes/batch/", text),
                ("write-sync", "/sync/notes/", text),
                ("write-decorated", "/decorated/notes/", text),
                ("count-async", "/async/notes/count/", None),
                ("count-native", "/async/notes/native-count/", None),
                ("count-decorated", "/decorated/notes/count/", None),
                ("get-async", f"/async/notes/{seed['id']}/", None),
                ("get-sync", f"/sync/notes/{seed['id']}/", None),
                ("get-missing", "/async/notes/999999/", None),
            ][i % 10]

        async def hammer() -> list[tuple[str, httpx.Response]]:
            gate = asyncio.Semaphore(32)  # 32 requests in flight at a time
            limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
            async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

                async def one(i: int) -> tuple[str, httpx.Response]:
                    kind, path, body = request_for(i)
                    async with gate:
                        if body is None:
                            return kind, await client.get(path)
                        return kind, await client.post(path, json=body)

                return await asyncio.gather(*(one(i) for i in range(200)))

        replies = asyncio.run(hammer())

        expected_status = {"write": 201, "count": 200, "get": 200}
        for kind, reply in replies:
            want = 404 if kind == "get-missing" else expected_status[kind.split("-")[0]]
            assert reply.status_code == want, (kind, reply.status_code, reply.text)

        # Where each view ran, and where its ORM calls ran.
        written: list[dict[str, Any]] = []
        for kind, reply in replies:
            body = reply.json()
            if kind in ("write-async", "write-decorated"):
                assert body["view_thread"] == LOOP_THREAD
                assert body["thread"].startswith(REQUEST_THREAD)
                written.append(body)
            elif kind == "write-batch":
                # Three ORM calls gathered in one request: all on the request's thread.
                assert len({row["thread"] for row in body["rows"]}) == 1
                assert body["rows"][0]["thread"].startswith(REQUEST_THREAD)
                written.extend(body["rows"])
            elif kind == "write-sync":
                # The sync view is blocked in the async code it called: the ORM write
                # made below that code came back to the view's own thread.
                assert body["view_thread"] != LOOP_THREAD
                assert body["thread"] == body["view_thread"]
                written.append(body)
            elif kind == "count-async":
                assert body["thread"].startswith(REQUEST_THREAD)
            elif kind == "count-decorated":
                # Django saw a sync function in the decorated def: a worker thread ran it.
                assert body["view_thread"] != LOOP_THREAD
                assert body["thread"] != LOOP_THREAD
            elif kind in ("get-async", "get-sync"):
                assert body["id"] == seed["id"]
                assert body["text"] == "seed"
            if kind.startswith("count"):
                assert 1 <= body["count"] <= 1 + 20 * 6

        # No row lost, none doubled: 20 async + 60 batch + 20 sync + 20 decorated writes.
        assert len(written) == 120
        rows = rows_in(db)
        assert sorted(row[0] for row in rows) == sorted([seed["id"], *(w["id"] for w in written)])
        assert {row[1] for row in rows} == {"seed", *(w["text"] for w in written)}
        assert all(row[2] != LOOP_THREAD for row in rows)  # never the ORM on the loop
        final = httpx.get(base + "/async/notes/count/", timeout=10).json()
        assert final["count"] == len(rows) == 121

        # Connections: every one was opened off the loop, and every one is closed,
        # by the thread that opened it (Django refuses any other thread).
        report = diag(base)
        assert report["opened"] >= 1
        assert LOOP_THREAD not in report["opened_on"]
        assert report["still_open_on"] == []
        if report["db_fds"] is not None:
            assert report["db_fds"] == 0
        # And each request's thread ended with its request.
        deadline = time.monotonic() + 10
        while any(t.startswith(REQUEST_THREAD) for t in report["threads"]):
            assert time.monotonic() < deadline, report["threads"]
            time.sleep(0.05)
            report = diag(base)

    assert server_problems(server_output[-1]) == []


def test_the_django_checks_see_an_unclosed_connection_and_an_orm_call_on_the_loop(
    tmp_path: Path,
) -> None:
    # The load test passes only if its checks can fail: here the middleware leaves
    # connections open, and one view calls the ORM on the event loop itself.
    with django_server(tmp_path, DJANGO_PROJECT_CLOSE="0") as (base, _):
        for i in range(3):
            reply = httpx.post(base + "/async/notes/", json={"text": f"n{i}"}, timeout=10)
            assert reply.status_code == 201
        report = diag(base)
        assert len(report["still_open_on"]) == 3
        assert all(name.startswith(REQUEST_THREAD) for name in report["still_open_on"])
        if report["db_fds"] is not None:
            assert report["db_fds"] == 3

        assert httpx.get(base + "/unsafe/notes/count/", timeout=10).status_code == 500
    assert "SynchronousOnlyOperation" in server_output[-1]


def test_a_decorated_orm_call_in_a_django_sync_view_joins_the_views_transaction(
    tmp_path: Path,
) -> None:
    # In a sync view (plain sync code on Django's worker thread) a decorated
    # thread-sensitive function is a direct call, as the undecorated one would be: on
    # the view's thread and connection, so inside its transaction.atomic() block,
    # which the view then rolls back. Run on another thread, it would be committed
    # on a connection of its own (and under a write lock held by the view's
    # transaction, it would wait for that lock until SQLite's timeout).
    with django_server(tmp_path) as (base, db):
        reply = httpx.post(base + "/sync/notes/rolled-back/", json={"text": "gone"}, timeout=30)
        assert reply.status_code == 200
        body = reply.json()
        assert body["thread"] == body["view_thread"]
        assert rows_in(db) == []
    assert server_problems(server_output[-1]) == []

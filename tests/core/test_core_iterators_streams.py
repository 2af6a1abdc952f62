"""Iterators over real streams: a sqlite3 cursor from async code, a TCP stream from sync code."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator

import pytest

from synchronaut_core import CallAnyTimeout, async_iter, call_any

WAIT = 5.0


class Rows:
    """A sqlite3 connection made inside the generator, so bound to its thread.

    sqlite3's default ``check_same_thread=True`` raises ``ProgrammingError`` if the
    connection or its cursor is touched from any other thread -- including the
    ``close()`` in ``finally`` -- so finishing without error proves the thread stayed.
    """

    def __init__(self) -> None:
        self.closed = threading.Event()
        self.connection_thread: int | None = None
        self.closed_on: int | None = None

    def fetch(self, n: int) -> Iterator[tuple[int, str]]:
        connection = sqlite3.connect(":memory:")
        self.connection_thread = threading.get_ident()
        try:
            connection.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)")
            connection.executemany(
                "INSERT INTO item (id, name) VALUES (?, ?)", [(i, f"item-{i}") for i in range(n)]
            )
            cursor = connection.execute("SELECT id, name FROM item ORDER BY id")
            yield from cursor  # one row per step, from the live cursor
        finally:
            connection.close()
            self.closed_on = threading.get_ident()
            self.closed.set()


def test_a_sqlite3_cursor_is_iterated_from_async_code_on_its_own_thread(backend) -> None:
    rows = Rows()

    async def main() -> list[tuple[int, str]]:
        return [row async for row in call_any(rows.fetch, 50)]

    assert backend.run(main) == [(i, f"item-{i}") for i in range(50)]
    assert rows.closed_on == rows.connection_thread


def test_breaking_out_of_a_sqlite3_cursor_closes_the_connection_on_its_thread(
    backend,
) -> None:
    rows = Rows()

    async def main() -> bool:
        async for row_id, _ in async_iter(rows.fetch(50), read_ahead=5):
            if row_id == 3:
                break
        return await call_any(rows.closed.wait, WAIT)

    assert backend.run(main)
    assert rows.closed_on == rows.connection_thread


class LineServer:
    """A loopback TCP server on the background loop that sends numbered lines.

    ``lines`` lines are sent, then the server waits for the client to hang up;
    ``client_gone`` is set when the handler sees the connection end.
    """

    def __init__(self, lines: int) -> None:
        self.lines = lines
        self.client_gone = threading.Event()
        self.server: asyncio.AbstractServer | None = None
        self.port = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            i = 0
            while i < self.lines:
                writer.write(f"line {i}\n".encode())
                await writer.drain()
                i += 1
            await reader.read()  # until the client closes its end
        except ConnectionError:
            pass
        finally:
            writer.close()
            self.client_gone.set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
def line_server(request: pytest.FixtureRequest) -> Iterator[LineServer]:
    server = LineServer(request.param)
    call_any(server.start)  # on the background loop, from this (sync) test
    yield server
    call_any(server.stop)


class LineReader:
    """An async generator reading lines from a real socket; records its close."""

    def __init__(self) -> None:
        self.closed = threading.Event()
        self.cancelled = False

    async def lines(self, port: int) -> AsyncIterator[str]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while line := await reader.readline():
                yield line.decode().rstrip("\n")
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            writer.close()
            self.closed.set()


@pytest.mark.parametrize("line_server", [5], indirect=True)
def test_a_tcp_stream_is_read_from_sync_code_line_by_line(line_server: LineServer) -> None:
    reader = LineReader()
    got = []
    for line in call_any(reader.lines, line_server.port):
        got.append(line)
        if len(got) == 5:
            break  # the server waits for us to hang up
    assert got == [f"line {i}" for i in range(5)]
    assert reader.closed.wait(WAIT)
    assert line_server.client_gone.wait(WAIT)  # the socket really closed


@pytest.mark.parametrize("line_server", [10_000], indirect=True)
def test_leaving_a_long_tcp_stream_early_closes_the_socket(line_server: LineServer) -> None:
    reader = LineReader()
    with call_any(reader.lines, line_server.port) as stream:
        assert [next(stream) for _ in range(3)] == ["line 0", "line 1", "line 2"]
    assert reader.closed.is_set()  # closed on the loop before the with block ended
    assert line_server.client_gone.wait(WAIT)


@pytest.mark.parametrize("line_server", [2], indirect=True)
def test_a_stalled_tcp_stream_times_out_per_line_and_is_closed(line_server: LineServer) -> None:
    reader = LineReader()
    stream = call_any(reader.lines, line_server.port, timeout=0.3)
    assert [next(stream), next(stream)] == ["line 0", "line 1"]
    with pytest.raises(CallAnyTimeout):
        next(stream)  # the server sends nothing more
    assert reader.cancelled
    assert reader.closed.is_set()
    assert line_server.client_gone.wait(WAIT)

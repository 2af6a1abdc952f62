"""``.sync`` and ``.async_`` look like the original to frameworks.

Both carry the original's signature (``inspect.signature``, also with ``eval_str``,
and for bound methods: without ``self``/``cls``), names and docstring; ``.async_`` of
a decorated ``def`` or ``async def`` is a coroutine function to ``inspect`` and
``asyncio`` alike, so a framework given it as an endpoint or a dependency awaits it on
its loop -- and the ``def`` still runs in a worker thread. (The FastAPI proof is
tests/integration/test_integration_fastapi_entries.py.)
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import threading
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from synchronaut_core import synchronaut


class User:
    """A module-level annotation: ``eval_str`` must find it in the original's globals."""


@synchronaut
def get_user(user_id: int, *, verbose: bool = False) -> User:
    """Get a user (sync)."""
    del user_id, verbose
    return User()


@synchronaut(timeout=30)
async def aget_user(user_id: int, verbose: bool = False) -> User:
    """Get a user (async)."""
    del user_id, verbose
    return User()


@synchronaut
def rows(n: int, start: int = 0) -> Iterator[int]:
    yield from range(start, start + n)


@synchronaut
async def arows(n: int) -> AsyncIterator[int]:
    for i in range(n):
        yield i


class Repo:
    def __init__(self, name: str) -> None:
        self.name = name

    @synchronaut
    def find(self, key: int, default: str = "") -> str:
        """Find by key."""
        return f"{self.name}:{key}{default}"

    @synchronaut
    async def afind(self, key: int) -> str:
        return f"{self.name}:a{key}"

    @synchronaut
    @classmethod
    def kind(cls, key: int) -> str:
        return f"{cls.__name__}:{key}"

    @synchronaut
    @classmethod
    async def akind(cls, key: int) -> str:
        return f"{cls.__name__}:a{key}"

    @synchronaut
    @staticmethod
    def plain(key: int) -> str:
        return f"static:{key}"

    @synchronaut
    def items(self, n: int) -> Iterator[str]:
        for i in range(n):
            yield f"{self.name}{i}"


class SubRepo(Repo):
    pass


REPO = Repo("r")

#: (label, decorated callable as reached, the plain callable it stands for).
FUNCTIONS: list[tuple[str, Any, Callable[..., Any]]] = [
    ("def", get_user, get_user.__wrapped__),
    ("async def", aget_user, aget_user.__wrapped__),
    ("method", REPO.find, Repo.__dict__["find"].__wrapped__.__get__(REPO)),
    ("async method", REPO.afind, Repo.__dict__["afind"].__wrapped__.__get__(REPO)),
    ("classmethod", Repo.kind, Repo.__dict__["kind"].__wrapped__.__get__(Repo)),
    ("classmethod via instance", REPO.kind, Repo.__dict__["kind"].__wrapped__.__get__(Repo)),
    ("async classmethod", Repo.akind, Repo.__dict__["akind"].__wrapped__.__get__(Repo)),
    ("staticmethod", Repo.plain, Repo.__dict__["plain"].__wrapped__),
    ("staticmethod via instance", REPO.plain, Repo.__dict__["plain"].__wrapped__),
]
GENERATORS: list[tuple[str, Any, Callable[..., Any]]] = [
    ("generator", rows, rows.__wrapped__),
    ("async generator", arows, arows.__wrapped__),
    ("generator method", REPO.items, Repo.__dict__["items"].__wrapped__.__get__(REPO)),
]


def _asyncio_says_coroutine_function(func: object) -> bool:
    # asyncio.iscoroutinefunction is deprecated from Python 3.14 (a warning there).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return asyncio.iscoroutinefunction(func)


@pytest.mark.parametrize(("label", "decorated", "plain"), FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_async_entry_is_a_coroutine_function(label: str, decorated: Any, plain: Any) -> None:
    del label, plain
    assert inspect.iscoroutinefunction(decorated.async_)
    assert _asyncio_says_coroutine_function(decorated.async_)
    assert not inspect.iscoroutinefunction(decorated.sync)
    assert not _asyncio_says_coroutine_function(decorated.sync)


@pytest.mark.parametrize(
    ("label", "decorated", "plain"),
    FUNCTIONS + GENERATORS,
    ids=[f[0] for f in FUNCTIONS + GENERATORS],
)
def test_both_entries_carry_the_originals_signature(label: str, decorated: Any, plain: Any) -> None:
    del label
    expected = inspect.signature(plain)
    for entry in (decorated, decorated.sync, decorated.async_):
        assert inspect.signature(entry) == expected
        # Annotations evaluated in the original's module (FastAPI does this).
        assert inspect.signature(entry, eval_str=True) == inspect.signature(plain, eval_str=True)


@pytest.mark.parametrize(("label", "decorated", "plain"), FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_entries_carry_the_originals_names_and_docstring(
    label: str, decorated: Any, plain: Any
) -> None:
    del label
    name = plain.__name__
    for kind in ("sync", "async_"):
        entry = getattr(decorated, kind)
        assert entry.__name__ in (name, kind)  # a bound method's entry is named for it
        assert entry.__qualname__.endswith(f"{plain.__qualname__}.{kind}")
        assert entry.__doc__ == plain.__doc__
        assert entry.__module__ == __name__
        unwrapped = inspect.unwrap(entry)
        assert getattr(unwrapped, "__func__", unwrapped) is getattr(plain, "__func__", plain)


def test_a_module_level_entry_is_kept_and_named_as_the_function() -> None:
    assert get_user.sync is get_user.sync
    assert get_user.async_ is get_user.async_
    assert get_user.async_.__name__ == "get_user"
    assert get_user.async_.__qualname__ == "get_user.async_"
    assert get_user.async_.__wrapped__ is get_user.__wrapped__
    # On the class: the implementation, documented.
    assert type(get_user).async_.__doc__


def test_entries_of_bound_methods_bind_like_bound_methods() -> None:
    a, b = Repo("a"), Repo("b")
    assert a.find.sync.__self__ == a.find
    assert a.find.sync.__self__ != b.find
    assert a.find.async_.__func__ is a.find.async_.__func__  # kept by the wrapper
    assert a.find.sync(1) == "a:1"
    assert b.find.sync(2, default="!") == "b:2!"
    assert SubRepo.kind.sync(3) == "SubRepo:3"
    assert SubRepo("s").kind.sync(4) == "SubRepo:4"


def test_async_entries_are_awaited_where_awaited(run: Callable[..., Any]) -> None:
    async def main() -> list[object]:
        return [
            type(await get_user.async_(1)),
            type(await aget_user.async_(1, verbose=True)),
            await REPO.find.async_(1),
            await REPO.afind.async_(2),
            await Repo.kind.async_(3),
            await SubRepo.akind.async_(4),
            await REPO.plain.async_(5),
            [i async for i in rows.async_(2, start=3)],
            [i async for i in arows.async_(2)],
            [s async for s in REPO.items.async_(2)],
        ]

    assert run(main) == [
        User,
        User,
        "r:1",
        "r:a2",
        "Repo:3",
        "SubRepo:a4",
        "static:5",
        [3, 4],
        [0, 1],
        ["r0", "r1"],
    ]


def test_the_async_entry_of_a_def_runs_it_in_a_worker_thread(run: Callable[..., Any]) -> None:
    seen: list[str] = []

    @synchronaut
    def where() -> str:
        seen.append(threading.current_thread().name)
        return "done"

    async def main() -> str:
        assert await where.async_() == "done"
        return threading.current_thread().name

    loop_thread = run(main)
    assert seen and seen[0] != loop_thread


def test_an_async_entry_made_in_sync_code_is_awaited_later() -> None:
    pending = [get_user.async_(1), REPO.find.async_(7), aget_user.async_(2)]

    async def main() -> list[object]:
        return [await awaitable for awaitable in pending]

    got = asyncio.run(main())
    assert type(got[0]) is User
    assert got[1] == "r:7"
    assert type(got[2]) is User


@pytest.mark.skipif(sys.version_info < (3, 12), reason="inspect.markcoroutinefunction: 3.12+")
def test_the_entry_is_a_coroutine_function_without_markers() -> None:
    # A real ``async def``: no marker (which 3.10/3.11 do not know) is needed.
    assert getattr(get_user.async_, "_is_coroutine_marker", None) is None
    assert inspect.iscoroutinefunction(get_user.async_)

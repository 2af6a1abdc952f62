"""@synchronaut: one decorated function, right in sync and async code."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time

import pytest

from synchronaut import CallAnyTimeout, synchronaut


@synchronaut
def plain_add(a: int, b: int = 1) -> int:
    """Add two numbers."""
    return a + b


@synchronaut()
async def async_add(a: int, b: int = 1) -> int:
    """Add two numbers, asynchronously."""
    await asyncio.sleep(0) if _in_asyncio() else None
    return a + b


def _in_asyncio() -> bool:
    return asyncio._get_running_loop() is not None


@synchronaut(timeout=0.1)
def slow_sync() -> None:
    time.sleep(2)


@synchronaut(timeout=0.1)
async def slow_async() -> None:
    await asyncio.sleep(10)


def test_sync_code_gets_values_from_both_kinds() -> None:
    assert plain_add(2, 3) == 5
    assert async_add(2, 3) == 5
    assert plain_add.sync(1) == 2
    assert async_add.sync(1) == 2


def test_async_code_awaits_both_kinds(backend) -> None:
    async def main() -> list[int]:
        return [
            await plain_add.async_(6, 7),
            await async_add(8, 9),
            await async_add.async_(1, 1),
            await plain_add(1, 2),
        ]

    assert backend.run(main) == [13, 17, 2, 3]


def test_sync_variant_blocks_even_inside_a_running_loop() -> None:
    async def main() -> tuple[int, int]:
        return plain_add.sync(1, 1), async_add.sync(2, 2)

    assert asyncio.run(main()) == (2, 4)


def test_decorator_timeout_applies_everywhere(backend) -> None:
    with pytest.raises(CallAnyTimeout, match="slow_sync timed out after 0.1s"):
        slow_sync()
    with pytest.raises(CallAnyTimeout, match="slow_async timed out after 0.1s"):
        slow_async()
    with pytest.raises(CallAnyTimeout):
        slow_async.sync()

    async def main() -> None:
        with pytest.raises(CallAnyTimeout):
            await slow_sync()
        with pytest.raises(CallAnyTimeout):
            await slow_sync.async_()
        if backend.name != "trio":
            with pytest.raises(CallAnyTimeout):
                await slow_async()

    backend.run(main)


def test_metadata_and_signature_are_the_originals() -> None:
    for wrapper, name in ((plain_add, "plain_add"), (async_add, "async_add")):
        assert wrapper.__name__ == name
        assert wrapper.__qualname__ == name
        assert wrapper.__module__ == __name__
        assert wrapper.__doc__ is not None and wrapper.__doc__.startswith("Add two numbers")
        assert wrapper.__annotations__ == {"a": "int", "b": "int", "return": "int"}
        assert str(inspect.signature(wrapper)) == "(a: 'int', b: 'int' = 1) -> 'int'"
    assert plain_add.__wrapped__.__name__ == "plain_add"


def test_coroutine_function_detection_matches_the_original() -> None:
    assert inspect.iscoroutinefunction(async_add)
    assert asyncio.iscoroutinefunction(async_add)
    assert not inspect.iscoroutinefunction(plain_add)
    assert not asyncio.iscoroutinefunction(plain_add)


class Repo:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @synchronaut
    def name(self, x: int) -> str:
        return f"{self.prefix}-{x}"

    @synchronaut
    async def aname(self, x: int) -> str:
        return f"{self.prefix}-a{x}"

    @synchronaut
    @classmethod
    def kind(cls, x: int) -> str:
        return f"{cls.__name__}:{x}"

    @synchronaut
    @staticmethod
    async def double(x: int) -> int:
        return 2 * x


def test_methods_classmethods_and_staticmethods() -> None:
    repo = Repo("r")
    assert repo.name(1) == "r-1"
    assert repo.name.sync(2) == "r-2"
    assert repo.aname(3) == "r-a3"
    assert repo.aname.sync(4) == "r-a4"
    assert Repo.kind(5) == "Repo:5"
    assert repo.kind.sync(6) == "Repo:6"
    assert Repo.double(7) == 14
    assert repo.double.sync(8) == 16
    assert str(inspect.signature(repo.name)) == "(x: 'int') -> 'str'"
    assert inspect.iscoroutinefunction(repo.aname)
    assert not inspect.iscoroutinefunction(repo.name)

    async def main() -> list[object]:
        return [
            await repo.name.async_(1),
            await repo.aname(2),
            await Repo.kind.async_(3),
            await Repo.double(4),
        ]

    assert asyncio.run(main()) == ["r-1", "r-a2", "Repo:3", 8]


def test_sync_function_runs_in_a_worker_thread_from_async_code(backend) -> None:
    @synchronaut
    def where() -> str:
        return threading.current_thread().name

    async def main() -> tuple[str, str]:
        return threading.current_thread().name, await where()

    loop_thread, worker = backend.run(main)
    assert loop_thread != worker


def test_bad_decorator_use_raises_clearly() -> None:
    with pytest.raises(ValueError, match="timeout must be"):
        synchronaut(timeout=-1)
    with pytest.raises(TypeError, match="needs a function"):
        synchronaut(42)  # type: ignore[call-overload]


def test_decorated_functions_pass_through_call_any() -> None:
    from synchronaut import call_any

    assert call_any(plain_add, 1, 1) == 2
    assert call_any(async_add, 1, 1) == 2

    async def main() -> tuple[int, int]:
        return await call_any(plain_add, 2, 2), await call_any(async_add, 3, 3)

    assert asyncio.run(main()) == (4, 6)


def test_context_executor_is_an_in_process_executor_for_call_any(backend) -> None:
    import contextvars

    from synchronaut import ContextExecutor, call_any

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    def read_and_write() -> str:
        seen = var.get()
        var.set("from-callee")
        return seen

    with ContextExecutor(max_workers=1) as executor:

        async def main() -> tuple[str, str]:
            var.set("from-task")
            seen = await call_any(read_and_write, executor=executor)
            return seen, var.get()

        assert backend.run(main) == ("from-task", "from-callee")


@synchronaut
async def count_up(n: int):
    try:
        for i in range(n):
            yield i
    finally:
        count_up_closed.append(threading.current_thread().name)


count_up_closed: list[str] = []


@synchronaut
def read_rows(n: int):
    for i in range(n):
        yield i, threading.current_thread().name


def test_decorated_async_generator_is_a_plain_iterator_in_sync_code() -> None:
    assert list(count_up(3)) == [0, 1, 2]
    assert list(count_up.sync(2)) == [0, 1]
    iterator = count_up.sync(10)
    for i in iterator:
        if i == 1:
            break
    iterator.close()
    assert count_up_closed[-1] == "synchronaut-loop"


def test_decorated_async_generator_is_an_async_iterator_in_async_code(backend) -> None:
    async def main() -> tuple[list[int], list[int]]:
        first = [i async for i in count_up(3)]
        second = [i async for i in count_up.async_(2)]
        return first, second

    assert backend.run(main) == ([0, 1, 2], [0, 1])


def test_decorated_generator_runs_on_one_thread_from_async_code(backend) -> None:
    async def main() -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        return [row async for row in read_rows(5)], [row async for row in read_rows.async_(3)]

    rows, more = backend.run(main)
    assert [i for i, _ in rows] == [0, 1, 2, 3, 4]
    assert len({name for _, name in rows}) == 1
    assert [i for i, _ in more] == [0, 1, 2]
    assert [i for i, _ in read_rows(2)] == [0, 1]  # sync code: the generator itself
    assert {name for _, name in read_rows.sync(2)} == {threading.current_thread().name}


def test_decorated_functions_are_freed_and_keep_no_callee_alive() -> None:
    import gc
    import weakref

    def make() -> tuple[weakref.ref[object], weakref.ref[object]]:
        def inner(x: int) -> int:
            return x

        wrapped = synchronaut(inner)
        wrapped.self_ref = wrapped  # a cycle through the wrapper's __dict__
        assert wrapped(1) == 1
        return weakref.ref(wrapped), weakref.ref(inner)

    wrapper_ref, func_ref = make()
    gc.collect()
    assert wrapper_ref() is None
    assert func_ref() is None

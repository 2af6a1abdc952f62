"""What a decorated sync generator function returns inside a loop: a ThreadGenerator.

Frameworks call a generator dependency on their event loop and drive it with
``next()``/``throw()`` in their threadpool (FastAPI wraps it in
``contextlib.contextmanager`` and enters and leaves it with ``anyio.to_thread``). So
the object is both: ``async for`` runs the generator on a thread of its own, as the
README says; ``next()``/``send()``/``throw()``/``close()`` run it right in the
driving thread, exactly as the generator itself would. The first use decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support_backends import Backend

import synchronaut as synchronaut_meta
from synchronaut_core import (
    ThreadGenerator,
    ThreadIterator,
    call_any,
    call_sync,
    synchronaut,
)

# --- a generator with every kind of step, undecorated and decorated -----------------


def accumulate(log: list[tuple[str, Any, int]]) -> Generator[int, int | None, str]:
    """Yields a running total; send() adds, throw(ValueError) is caught, a total past
    20 ends it; every step logs the thread it ran on."""
    total = 0
    log.append(("start", None, threading.get_ident()))
    try:
        while total <= 20:
            try:
                got = yield total
            except ValueError as exc:
                log.append(("caught", str(exc), threading.get_ident()))
                got = 100 if str(exc) == "big" else 0
            total += 1 if got is None else got
            log.append(("step", total, threading.get_ident()))
        return "over"
    finally:
        log.append(("finally", total, threading.get_ident()))


decorated_accumulate = synchronaut(accumulate)


def made_in_a_loop(make: Callable[[], Any]) -> Any:
    """What ``make()`` returns when called inside a running asyncio loop."""

    async def inside() -> Any:
        return make()

    return asyncio.run(inside())


# --- the operations a driver can apply, and what they give --------------------------

_OPS = st.lists(
    st.tuples(
        st.sampled_from(["next", "send", "throw-caught", "throw-big", "throw-other", "close"]),
        st.integers(min_value=-3, max_value=9),
        st.booleans(),  # in a thread of its own (else the test's thread)
    ),
    max_size=12,
)


def _apply(gen: Any, op: str, value: int) -> tuple[str, Any]:
    try:
        if op == "next":
            return ("value", next(gen))
        if op == "send":
            return ("value", gen.send(value))
        if op == "throw-caught":
            return ("value", gen.throw(ValueError("small")))
        if op == "throw-big":
            return ("value", gen.throw(ValueError("big")))
        if op == "throw-other":
            return ("value", gen.throw(KeyError(value)))
        gen.close()
        return ("closed", None)
    except StopIteration as stop:
        return ("stop", stop.value)
    except Exception as exc:  # what the generator raised (or re-raised)
        return ("raised", repr(exc))


def _drive(gen: Any, ops: list[tuple[str, int, bool]]) -> tuple[list[Any], list[int]]:
    """Apply ``ops`` to ``gen``; the outcomes, and the thread each op ran on."""
    outcomes: list[Any] = []
    drivers: list[int] = []
    for op, value, elsewhere in ops:
        if elsewhere:
            box: list[Any] = []

            def step(op: str = op, value: int = value, box: list[Any] = box) -> None:
                box.append((_apply(gen, op, value), threading.get_ident()))

            thread = threading.Thread(target=step)
            thread.start()
            thread.join()
            outcome, driver = box[0]
        else:
            outcome, driver = _apply(gen, op, value), threading.get_ident()
        outcomes.append(outcome)
        drivers.append(driver)
    return outcomes, drivers


@settings(max_examples=150, deadline=None)
@given(ops=_OPS)
def test_driven_synchronously_it_is_the_generator_itself(ops: list[tuple[str, int, bool]]) -> None:
    """Any sequence of next/send/throw/close, from any threads: the same outcomes as
    the undecorated generator, each step run by the thread that drove it."""
    ops = [*ops, ("close", 0, False)]  # what is left of it, in the test's thread
    plain_log: list[tuple[str, Any, int]] = []
    plain_outcomes, _ = _drive(accumulate(plain_log), ops)

    log: list[tuple[str, Any, int]] = []
    gen = made_in_a_loop(lambda: decorated_accumulate(log))
    assert isinstance(gen, ThreadGenerator)
    outcomes, drivers = _drive(gen, ops)

    assert outcomes == plain_outcomes
    assert [entry[:2] for entry in log] == [entry[:2] for entry in plain_log]
    # Every line of the generator ran in the thread driving that step.
    assert {entry[2] for entry in log} <= set(drivers)


def test_async_for_still_runs_it_on_one_thread_of_its_own(backend: Backend) -> None:
    """The README's behaviour: every step on one thread, not the loop's; items in
    order; the generator's finally ran there too."""
    log: list[tuple[str, Any, int]] = []

    async def main() -> list[int]:
        gen = decorated_accumulate(log)
        assert isinstance(gen, ThreadIterator)
        return [item async for item in gen]

    loop_thread = threading.get_ident()
    items = backend.run(main)
    assert items == list(range(21))
    threads = {entry[2] for entry in log}
    assert len(threads) == 1
    assert loop_thread not in threads


def test_the_first_use_decides_and_the_other_is_refused(backend: Backend) -> None:
    log: list[tuple[str, Any, int]] = []

    async def main() -> None:
        threaded = decorated_accumulate(log)
        assert await threaded.__anext__() == 0
        for drive in (
            next,
            lambda g: g.send(1),
            lambda g: g.throw(ValueError()),
            ThreadGenerator.close,
        ):
            with pytest.raises(TypeError, match="iterated with 'async for'"):
                drive(threaded)
        assert await threaded.__anext__() == 1  # still fine the way it was chosen
        await threaded.aclose()

        direct = decorated_accumulate(log)
        assert next(direct) == 0
        with pytest.raises(TypeError, match=r"driven with next\(\)"):
            await direct.__anext__()
        with pytest.raises(TypeError, match=r"driven with next\(\)"):
            await direct.aclose()
        assert direct.send(2) == 2
        direct.close()

    backend.run(main)
    assert [kind for kind, _, _ in log].count("finally") == 2


def test_closing_before_any_step_runs_nothing_and_ends_both_ways(backend: Backend) -> None:
    log: list[tuple[str, Any, int]] = []

    async def main() -> None:
        for close_async in (False, True):
            gen = decorated_accumulate(log)
            if close_async:
                await gen.aclose()
            else:
                gen.close()
            with pytest.raises(StopAsyncIteration):
                await gen.__anext__()
            assert list(gen) == []  # finished either way, in any order
            with pytest.raises(StopAsyncIteration):
                await gen.__anext__()
            gen.close()
            await gen.aclose()

    backend.run(main)
    assert log == []  # not a line of the generator ran


def test_fastapis_way_contextmanager_entered_and_left_in_a_threadpool() -> None:
    """What FastAPI does with ``Depends(get_db)``: contextmanager() on the loop, then
    __enter__ and __exit__ (with the endpoint's exception) in worker threads. Same
    outcome as with the undecorated function, each step on the thread driving it."""

    def get_db(log: list[tuple[str, int]]) -> Iterator[str]:
        log.append(("enter", threading.get_ident()))
        try:
            yield "db"
        except LookupError:
            log.append(("saw the endpoint's error", threading.get_ident()))
            raise
        finally:
            log.append(("exit", threading.get_ident()))

    async def request(dependency: Callable[..., Any], fail: bool) -> tuple[Any, list[str]]:
        log: list[tuple[str, int]] = []
        cm = contextlib.contextmanager(dependency)(log)  # called on the loop
        value = await asyncio.to_thread(cm.__enter__)
        error = LookupError("no such row") if fail else None
        try:
            suppressed = await asyncio.to_thread(
                cm.__exit__,
                None if error is None else type(error),
                error,
                None if error is None else error.__traceback__,
            )
            outcome: Any = (value, suppressed)
        except LookupError as exc:
            outcome = (value, "raised", exc is error)
        loop_thread = threading.get_ident()
        assert all(thread != loop_thread for _, thread in log)
        return outcome, [what for what, _ in log]

    async def main() -> None:
        for fail in (False, True):
            assert await request(synchronaut(get_db), fail) == await request(get_db, fail)

    asyncio.run(main())


def test_call_sync_of_a_decorated_generator_in_a_loop_gives_an_iterator() -> None:
    """call_sync on a sync generator function gives the generator itself: for a
    decorated one too, even inside a loop (it used to give an async-only object)."""
    log: list[tuple[str, Any, int]] = []

    async def main() -> list[int]:
        return list(call_sync(decorated_accumulate, log))

    assert made_in_a_loop(lambda: None) is None
    assert asyncio.run(main()) == list(range(21))


def test_call_any_of_a_decorated_generator_in_a_loop_runs_it_off_the_loop(
    backend: Backend,
) -> None:
    log: list[tuple[str, Any, int]] = []

    async def main() -> list[int]:
        return [item async for item in call_any(decorated_accumulate, log, timeout=5)]

    loop_thread = threading.get_ident()
    assert backend.run(main) == list(range(21))
    threads = {entry[2] for entry in log}
    assert len(threads) == 1
    assert loop_thread not in threads


def test_thread_sensitive_decorated_generator_async_for_uses_the_sensitive_thread() -> None:
    @synchronaut(thread_sensitive=True)
    def where() -> Iterator[int]:
        yield threading.get_ident()

    @synchronaut(thread_sensitive=True)
    def sensitive_ident() -> int:
        return threading.get_ident()

    async def main() -> tuple[list[int], int]:
        return [item async for item in where()], await sensitive_ident()

    items, sensitive = asyncio.run(main())
    assert items == [sensitive]


def test_an_executor_is_refused_inside_a_loop_as_for_call_any() -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:

        @synchronaut(executor=pool)
        def gen() -> Iterator[int]:
            yield 1

        async def main() -> None:
            with pytest.raises(ValueError, match="cannot be given an executor"):
                gen()

        asyncio.run(main())
        assert list(gen()) == [1]  # plain sync code: the generator itself


def test_fastapis_way_with_a_decorated_async_generator_with_options(backend: Backend) -> None:
    """asynccontextmanager over a decorated async generator with a timeout (FastAPI's
    async generator dependencies): the block's exception is thrown into it (athrow)
    and what it does with it is what the undecorated one does."""

    async def get_session(log: list[str]) -> Any:
        log.append("enter")
        try:
            yield "session"
        except LookupError:
            log.append("saw the error")
            raise
        finally:
            log.append("exit")

    async def request(dependency: Callable[..., Any]) -> tuple[Any, list[str]]:
        log: list[str] = []
        try:
            async with contextlib.asynccontextmanager(dependency)(log) as value:
                assert value == "session"
                raise LookupError("no such row")
        except LookupError as exc:
            return repr(exc), log
        return None, log

    async def main() -> None:
        expected = await request(get_session)
        assert expected == ("LookupError('no such row')", ["enter", "saw the error", "exit"])
        assert await request(synchronaut(timeout=5)(get_session)) == expected

    backend.run(main)


def test_thread_generator_is_public() -> None:
    assert synchronaut_meta.ThreadGenerator is ThreadGenerator
    assert issubclass(ThreadGenerator, ThreadIterator)

"""The driving task's awaits of an inline call, as the C accelerator runs them.

With the accelerator, an asyncio inline call's task awaits what its greenlet hands over
through one ``InlineChain`` (``_inline._drive``): ``await chain.follow(request)`` is
``await request``, and when that coroutine returns, the chain switches the value into
the greenlet and, while the greenlet hands back plain coroutines in the task's
context, awaits the next one itself -- no Python code of the driver runs per inner
bridge call. These tests hold it to what the pure-Python driver does (the same tests
run pure in CI): sequences of inner calls of every outcome searched by hypothesis, a
cancellation swallowed mid-chain, a report that fails at an inner call, the threshold
changed mid-call, and the type's own contract.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support_backends import Backend

from synchronaut_core import (
    _accelerator,
    _inline,
    call_any,
    call_sync,
    get_inline_blocking_threshold,
    set_inline_blocking_threshold,
)

pytestmark = pytest.mark.filterwarnings("error")

needs_c = pytest.mark.skipif(_accelerator._speedups is None, reason="the C accelerator")

#: Values a coroutine may return that a careless StopIteration would take apart.
ODD_VALUES = [None, (), (1, 2), ValueError("a value"), StopIteration(7), [3], "x", 0]


async def returns(value: Any) -> Any:
    return value


async def suspends_then_returns(backend: Backend, value: Any) -> Any:
    await backend.checkpoint()
    return value


async def fails(i: int) -> Any:
    raise LookupError(i)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, BaseException):
        return a is b
    return type(a) is type(b) and a == b


steps = st.lists(
    st.tuples(
        st.sampled_from(["value", "suspend", "raise", "context_run", "call_sync"]),
        st.integers(0, len(ODD_VALUES) - 1),
    ),
    max_size=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=steps)
def test_any_sequence_of_inner_calls_gives_each_its_own_outcome(
    backend: Backend, plan: list[tuple[str, int]]
) -> None:
    def service() -> list[Any]:
        seen: list[Any] = []
        for i, (kind, which) in enumerate(plan):
            value = ODD_VALUES[which]
            try:
                if kind == "value":
                    got = call_any(returns, value)
                elif kind == "suspend":
                    got = call_any(suspends_then_returns, backend, value)
                elif kind == "raise":
                    got = call_any(fails, i)
                elif kind == "context_run":
                    got = contextvars.copy_context().run(call_any, returns, value)
                else:
                    got = call_sync(returns, value)
            except LookupError as exc:
                got = ("raised", exc.args)
            seen.append(got)
        return seen

    async def main() -> list[Any]:
        return await call_any(service, inline=True)

    seen = backend.run(main)
    expected = [
        ("raised", (i,)) if kind == "raise" else ODD_VALUES[which]
        for i, (kind, which) in enumerate(plan)
    ]
    assert len(seen) == len(expected)
    for got, want in zip(seen, expected, strict=True):
        assert _same(got, want), (got, want)


def test_a_cancellation_swallowed_mid_chain_resumes_the_inline_code(
    asyncio_backend: Backend,
) -> None:
    """The task is cancelled while the fourth inner call waits; that coroutine catches
    the cancellation and returns: the inline code goes on with that value, makes more
    calls, and the call returns (the chain carried on from a throw)."""
    started = asyncio.Event()

    async def patient() -> str:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            assert task is not None
            task.uncancel()
            return "swallowed"
        return "slept"

    def service() -> list[Any]:
        got = [call_any(returns, i) for i in range(3)]
        got.append(call_any(patient))
        got.extend(call_any(returns, i) for i in range(3, 5))
        return got

    async def main() -> list[Any]:
        task = asyncio.ensure_future(call_any(service, inline=True))
        await started.wait()
        task.cancel()
        return await task

    if not hasattr(asyncio.Task, "uncancel"):
        pytest.skip("Task.uncancel is 3.11+")
    assert asyncio_backend.run(main) == [0, 1, 2, "swallowed", 3, 4]


def test_a_cancellation_mid_chain_raises_at_that_bridge_call(asyncio_backend: Backend) -> None:
    started = asyncio.Event()
    events: list[str] = []

    async def forever() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        finally:
            events.append("coroutine finally")

    def service() -> None:
        for i in range(5):
            call_any(returns, i)
        try:
            call_any(forever)
        except asyncio.CancelledError:
            events.append("cancelled at the bridge call")
            raise
        finally:
            events.append("inline finally")

    async def main() -> None:
        task = asyncio.ensure_future(call_any(service, inline=True))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio_backend.run(main)
    assert events == ["coroutine finally", "cancelled at the bridge call", "inline finally"]


def test_a_report_failing_at_an_inner_call_raises_there(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The blocking report of the stretch that ends at the third bridge call raises:
    as from the pure driver's switch, it is raised in the inline code at that call,
    whose coroutine never started and is closed (warnings are errors here)."""

    def failing_report(self: Any, elapsed: float) -> None:
        raise OSError("the report failed")

    previous = get_inline_blocking_threshold()
    set_inline_blocking_threshold(0.02)
    monkeypatch.setattr(_inline._Inline, "report", failing_report)
    started: list[int] = []

    async def noted(i: int) -> int:
        started.append(i)
        return i

    def service() -> list[Any]:
        got: list[Any] = [call_any(noted, 0), call_any(noted, 1)]
        time.sleep(0.05)  # the stretch the report is about
        try:
            got.append(call_any(noted, 2))
        except OSError as exc:
            got.append(str(exc))
        return got

    async def main() -> list[Any]:
        return await call_any(service, inline=True)

    try:
        assert backend.run(main) == [0, 1, "the report failed"]
    finally:
        set_inline_blocking_threshold(previous)
    assert started == [0, 1]


def test_the_threshold_changed_mid_call_applies_to_the_next_stretch(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    previous = get_inline_blocking_threshold()

    def service() -> None:
        set_inline_blocking_threshold(None)
        call_any(returns, 1)
        time.sleep(0.15)  # off: not reported
        call_any(returns, 2)
        set_inline_blocking_threshold(0.02)
        call_any(returns, 3)
        time.sleep(0.05)  # reported at the next bridge call
        call_any(returns, 4)

    async def main() -> None:
        await call_any(service, inline=True)

    try:
        with caplog.at_level(logging.WARNING, logger="synchronaut"):
            backend.run(main)
    finally:
        set_inline_blocking_threshold(previous)
    reports = [r for r in caplog.records if "service" in r.getMessage()]
    assert len(reports) == 1
    assert "ran 0.0" in reports[0].getMessage()  # the 0.05 s stretch, not the 0.15 s one


@needs_c
def test_the_chain_refuses_what_it_is_not_for() -> None:
    speedups: Any = _accelerator._speedups
    chain_type = speedups.InlineChain
    with pytest.raises(TypeError, match="one of them"):
        chain_type(print, None, None, object(), object(), object(), None)
    with pytest.raises(TypeError, match="one of them"):
        chain_type(print, object(), object(), object(), object(), object(), None)
    with pytest.raises(TypeError, match="no keyword arguments"):
        chain_type(print, object(), None, object(), object(), object(), None, x=1)
    with pytest.raises(TypeError):
        chain_type(print)
    chain = chain_type(print, object(), None, object(), object(), object(), None)
    with pytest.raises(RuntimeError, match="without follow"):
        next(chain)
    with pytest.raises(RuntimeError, match="without follow"):
        chain.send(1)
    with pytest.raises(TypeError, match="1 to 3 arguments"):
        chain.throw()
    assert chain.close() is None  # nothing awaited: nothing to close
    assert chain.request is None and chain.in_switch is False


@needs_c
def test_the_threshold_mirror_checks_its_argument() -> None:
    speedups: Any = _accelerator._speedups
    previous = get_inline_blocking_threshold()
    try:
        with pytest.raises(ValueError, match="must be > 0"):
            speedups.set_inline_threshold(0.0)
        with pytest.raises(ValueError, match="must be > 0"):
            speedups.set_inline_threshold(float("nan"))
        with pytest.raises(TypeError):
            speedups.set_inline_threshold("1")
    finally:
        set_inline_blocking_threshold(previous)


@needs_c
def test_the_chain_passes_the_legacy_throw_form_on_as_one_exception() -> None:
    """(type, value, traceback) as Python's own delegation gives it: the coroutine gets
    the instance, and 3.12+ does not warn of that form (warnings are errors here)."""
    speedups: Any = _accelerator._speedups

    async def catches() -> str:
        try:
            await asyncio.sleep(3600)
        except KeyError as exc:
            return f"caught {exc.args[0]}"
        return "slept"

    switched_in: list[Any] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        chain = speedups.InlineChain(
            switched_in.append, loop, None, object(), object(), object(), False
        )
        coro = catches()
        it = chain.follow(coro).__await__()
        future = next(it)  # the sleep's future, yielded on to the task
        assert isinstance(future, asyncio.Future)
        error = KeyError("k")
        # The coroutine returns: the chain switches its value into ``append`` (standing
        # for the greenlet here), whose None it hands back as the await's value.
        with pytest.raises(StopIteration) as info:
            it.throw(KeyError, error, None)
        assert info.value.value is None
        future.cancel()

    asyncio.run(main())
    assert switched_in == ["caught k"]


@pytest.mark.parametrize("value", [(1, 2), None, StopIteration(3), ()], ids=repr)
def test_a_foreign_switch_after_inner_calls_hands_the_driver_the_value_intact(
    backend: Backend, value: Any
) -> None:
    """What the greenlet hands back that is not a coroutine ends the chain's await as its
    value -- a tuple, None or an exception kept whole, as the refusal's message shows."""
    import greenlet

    def rogue() -> str:
        call_any(returns, 1)
        call_any(suspends_then_returns, backend, 2)
        try:
            greenlet.getcurrent().parent.switch(value)  # pyright: ignore[reportOptionalMemberAccess]
        except RuntimeError as exc:
            return str(exc)
        return "not refused"

    async def main() -> str:
        return await call_any(rogue, inline=True)

    message = backend.run(main)
    assert f"with {type(value).__name__} value {value!r}" in message


def test_the_default_threshold_reports_a_stretch_between_inner_calls(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    """The stretch ends at an inner bridge call, which the C chain switches: its copy of
    the threshold is the default, mirrored from _inline when that module loads."""
    assert get_inline_blocking_threshold() == 0.1

    def between() -> None:
        call_any(returns, 1)
        time.sleep(0.15)
        call_any(returns, 2)

    async def main() -> None:
        await call_any(between, inline=True)

    with caplog.at_level(logging.WARNING, logger="synchronaut"):
        backend.run(main)
    assert len([r for r in caplog.records if "between" in r.getMessage()]) == 1

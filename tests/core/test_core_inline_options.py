"""Inline mode's option, its optional dependency and its blocking report.

``inline`` must be a bool and goes with neither ``thread_sensitive`` nor ``executor``
(refused before anything runs, at decoration time too, and across stacked levels);
greenlet is imported only once inline mode is asked for, and without it
``inline=True`` raises an ImportError naming the extra; inline code that runs past
the threshold between bridge calls is reported on the ``synchronaut`` logger.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from support_backends import Backend
from support_process import run_python

from synchronaut_core import (
    CallOptions,
    call_any,
    call_async,
    call_sync,
    get_inline_blocking_threshold,
    set_inline_blocking_threshold,
    synchronaut,
)


def f() -> int:
    return 1


@pytest.mark.parametrize("value", ["yes", 1, None, 0.0])
def test_inline_must_be_a_bool(value: object) -> None:
    for make in (
        lambda: call_any(f, inline=value),  # type: ignore[arg-type]
        lambda: call_sync(f, inline=value),  # type: ignore[arg-type]
        lambda: call_async(f, inline=value),  # type: ignore[arg-type]
        lambda: CallOptions(inline=value),  # type: ignore[arg-type]
        lambda: synchronaut(inline=value),  # type: ignore[arg-type]
    ):
        with pytest.raises(TypeError, match="inline must be True or False"):
            make()


def test_inline_with_thread_sensitive_is_refused_before_anything_runs() -> None:
    ran: list[int] = []
    with pytest.raises(ValueError, match="inline=True .* thread_sensitive"):
        call_any(ran.append, 1, inline=True, thread_sensitive=True)
    with pytest.raises(ValueError, match="inline=True .* thread_sensitive"):
        CallOptions(inline=True, thread_sensitive=True)
    with pytest.raises(ValueError, match="inline=True .* thread_sensitive"):
        synchronaut(inline=True, thread_sensitive=True)
    assert ran == []


def test_inline_with_an_executor_is_refused_before_anything_runs() -> None:
    with ThreadPoolExecutor(1) as pool:
        with pytest.raises(ValueError, match="inline=True .* executor"):
            call_any(f, inline=True, executor=pool)
        with pytest.raises(ValueError, match="inline=True .* executor"):
            call_async(f, inline=True, executor=pool)
        with pytest.raises(ValueError, match="inline=True .* executor"):
            synchronaut(inline=True, executor=pool)


def test_inline_at_one_level_and_thread_sensitive_or_executor_at_the_other() -> None:
    inline = synchronaut(inline=True)(f)
    sensitive = synchronaut(thread_sensitive=True)(f)
    with pytest.raises(ValueError, match="inline at one level"):
        synchronaut(thread_sensitive=True)(inline)  # at decoration time
    with pytest.raises(ValueError, match="inline at one level"):
        synchronaut(inline=True)(sensitive)
    with pytest.raises(ValueError, match="inline at one level"):
        call_any(inline, thread_sensitive=True)
    with ThreadPoolExecutor(1) as pool, pytest.raises(ValueError, match="inline at one level"):
        call_any(inline, executor=pool)


def test_inline_with_timeout_and_force_offload_is_accepted() -> None:
    options = CallOptions(inline=True, timeout=1, force_offload=True)
    assert (options.inline, options.timeout, options.force_offload) == (True, 1, True)
    assert "inline=True" in repr(options)
    # In plain sync code inline changes nothing: a timeout runs the def in the executor.
    assert options(f) == 1


def test_greenlet_is_not_imported_until_inline_mode_is_asked_for() -> None:
    done = run_python(
        """
        import asyncio, sys
        import synchronaut, synchronaut_core
        from synchronaut_core import call_any, synchronaut as deco

        async def af():
            return 1

        def f():
            return call_any(af)

        async def main():
            return await call_any(f)

        assert asyncio.run(main()) == 1 and f() == 1
        deco(f)
        assert "greenlet" not in sys.modules, "imported too early"
        deco(inline=True)(f)
        assert "greenlet" in sys.modules
        print("ok")
        """
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_without_greenlet_inline_raises_an_import_error_naming_the_extra() -> None:
    done = run_python(
        """
        import asyncio, sys
        sys.modules["greenlet"] = None  # an import of greenlet now fails
        from synchronaut_core import CallOptions, call_any, synchronaut

        def f():
            return 1

        async def main():
            return await call_any(f)

        assert asyncio.run(main()) == 1  # everything else works
        for make in (
            lambda: call_any(f, inline=True),
            lambda: CallOptions(inline=True),
            lambda: synchronaut(inline=True),
        ):
            try:
                make()
            except ImportError as exc:
                print(exc)
            else:
                print("no error")
        """
    )
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 3, done.stderr
    for line in lines:
        assert "synchronaut-core[inline]" in line
        assert "greenlet" in line


@pytest.fixture
def threshold() -> Iterator[None]:
    previous = get_inline_blocking_threshold()
    try:
        yield
    finally:
        set_inline_blocking_threshold(previous)


@pytest.mark.usefixtures("threshold")
def test_the_blocking_threshold_setter_checks_and_returns_the_old_value() -> None:
    assert get_inline_blocking_threshold() == 0.1  # the default
    assert set_inline_blocking_threshold(0.5) == 0.1
    assert set_inline_blocking_threshold(None) == 0.5
    assert get_inline_blocking_threshold() is None
    with pytest.raises(TypeError, match="seconds must be None or a number"):
        set_inline_blocking_threshold("1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seconds must be None or a positive"):
        set_inline_blocking_threshold(0)
    with pytest.raises(ValueError, match="seconds must be None or a positive"):
        set_inline_blocking_threshold(float("inf"))


def slow_service() -> None:
    time.sleep(0.15)  # blocks the loop: what the report is for


def quick_service() -> int:
    return sum(range(100))


@pytest.mark.usefixtures("threshold")
def test_inline_code_blocking_past_the_threshold_is_reported(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        await call_any(slow_service, inline=True)
        await call_any(quick_service, inline=True)

    with caplog.at_level(logging.WARNING, logger="synchronaut"):
        backend.run(main)
    reports = [r for r in caplog.records if r.name == "synchronaut" and "inline" in r.message]
    assert len(reports) == 1
    assert "slow_service" in reports[0].getMessage()
    assert "blocking its event loop" in reports[0].getMessage()


@pytest.mark.usefixtures("threshold")
def test_the_blocking_report_measures_between_bridge_calls(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    async def pause() -> None:
        await backend.sleep(0.03)

    def patient() -> None:
        # 0.15 s in all, but never more than 0.01 s without a bridge call.
        for _ in range(5):
            call_any(pause)

    set_inline_blocking_threshold(0.02)

    async def main() -> None:
        await call_any(patient, inline=True)

    with caplog.at_level(logging.WARNING, logger="synchronaut"):
        backend.run(main)
    assert not [r for r in caplog.records if "inline code" in r.getMessage()]


@pytest.mark.usefixtures("threshold")
def test_the_blocking_report_can_be_turned_off(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    set_inline_blocking_threshold(None)

    async def main() -> None:
        await call_any(slow_service, inline=True)

    with caplog.at_level(logging.WARNING, logger="synchronaut"):
        backend.run(main)
    assert not [r for r in caplog.records if "inline code" in r.getMessage()]


@pytest.mark.usefixtures("threshold")
def test_a_lower_threshold_reports_shorter_stretches(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    set_inline_blocking_threshold(0.01)

    def short_block() -> None:
        time.sleep(0.05)

    async def main() -> None:
        await call_any(short_block, inline=True)

    with caplog.at_level(logging.WARNING, logger="synchronaut"):
        backend.run(main)
    assert [r for r in caplog.records if "short_block" in r.getMessage()]

"""Callee exceptions come out with their original type and traceback in every quadrant."""

from __future__ import annotations

import traceback

import pytest

from synchronaut_core import call_any


class Boom(Exception):
    pass


def sync_boom() -> None:
    raise Boom("sync")


async def async_boom() -> None:
    raise Boom("async")


def frames(exc: BaseException) -> list[str]:
    return [frame.name for frame in traceback.extract_tb(exc.__traceback__)]


@pytest.mark.parametrize("kwargs", [{}, {"timeout": 5}, {"force_offload": True}])
def test_sync_code_gets_callee_exceptions_with_callee_frames(kwargs) -> None:
    for func in (sync_boom, async_boom):
        with pytest.raises(Boom) as info:
            call_any(func, **kwargs)
        assert func.__name__ in frames(info.value)


def test_event_loop_code_gets_callee_exceptions_with_callee_frames(backend) -> None:
    async def main() -> None:
        for func in (sync_boom, async_boom):
            for kwargs in ({}, {"timeout": 5}):
                with pytest.raises(Boom) as info:
                    await call_any(func, **kwargs)
                assert func.__name__ in frames(info.value)

    backend.run(main)


def test_background_loop_survives_callee_exceptions() -> None:
    async def ok() -> str:
        return "ok"

    for _ in range(3):
        with pytest.raises(Boom):
            call_any(async_boom)
        assert call_any(ok) == "ok"


def test_base_exceptions_from_offloaded_sync_code_propagate() -> None:
    def exits() -> None:
        raise SystemExit(3)

    with pytest.raises(SystemExit) as info:
        call_any(exits, timeout=5)
    assert info.value.code == 3


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
def test_base_exceptions_from_coroutines_reach_the_caller_and_spare_the_loop(exc_type) -> None:
    async def raises() -> None:
        raise exc_type("from the coroutine")

    async def ok() -> str:
        return "loop still serving"

    with pytest.raises(exc_type):
        call_any(raises)
    assert call_any(ok) == "loop still serving"

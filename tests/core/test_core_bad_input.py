"""Bad input is rejected with a clear exception before anything is scheduled."""

from __future__ import annotations

import math

import pytest

from synchronaut_core import CallOptions, call_any, call_async, call_sync

#: A number, but not a positive finite one: ValueError.
BAD_TIMEOUT_VALUES = [0, -1, -0.5, math.inf, math.nan, 10**400]
#: Not a number of seconds at all: TypeError (one policy everywhere).
BAD_TIMEOUT_TYPES = ["1", True, [1]]
BAD_TIMEOUTS = BAD_TIMEOUT_VALUES + BAD_TIMEOUT_TYPES


@pytest.mark.parametrize("entry", [call_any, call_sync, call_async])
@pytest.mark.parametrize("func", [42, "name", None])
def test_non_callable_raises_type_error(entry, func) -> None:
    with pytest.raises(TypeError, match="must be callable"):
        entry(func)


@pytest.mark.parametrize("entry", [call_any, call_sync, call_async])
@pytest.mark.parametrize("timeout", BAD_TIMEOUT_VALUES)
def test_bad_timeout_value_raises_value_error_before_calling(entry, timeout) -> None:
    called: list[int] = []
    with pytest.raises(ValueError, match="timeout must be None or a positive, finite number"):
        entry(called.append, 1, timeout=timeout)
    assert called == []


@pytest.mark.parametrize("entry", [call_any, call_sync, call_async])
@pytest.mark.parametrize("timeout", BAD_TIMEOUT_TYPES)
def test_bad_timeout_type_raises_type_error_before_calling(entry, timeout) -> None:
    called: list[int] = []
    with pytest.raises(TypeError, match="timeout must be None or a number of seconds, got"):
        entry(called.append, 1, timeout=timeout)
    assert called == []


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS)
def test_bad_timeout_in_async_code_raises_before_scheduling(backend, timeout) -> None:
    called: list[int] = []

    async def async_callee() -> None:
        called.append(1)

    async def main() -> None:
        for func in (called.append, async_callee):
            error = TypeError if timeout in BAD_TIMEOUT_TYPES else ValueError
            with pytest.raises(error, match="timeout must be"):
                call_any(func, 1, timeout=timeout) if func is called.append else call_any(
                    func, timeout=timeout
                )

    backend.run(main)
    assert called == []


def test_non_executor_raises_type_error() -> None:
    with pytest.raises(TypeError, match="executor must be a concurrent.futures.Executor"):
        call_any(print, executor="pool")  # type: ignore[arg-type]


def test_call_options_validate_once() -> None:
    with pytest.raises(ValueError, match="timeout must be"):
        CallOptions(timeout=-1)
    with pytest.raises(TypeError, match="executor must be"):
        CallOptions(executor=object())  # type: ignore[arg-type]

"""Callees with parameters named like call_any's options have a way through."""

from __future__ import annotations

import time

import pytest

from synchronaut_core import CallAnyTimeout, CallOptions, call_any


def connect(host: str, *, timeout: float = 10.0, executor: str = "none") -> tuple[str, float, str]:
    return host, timeout, executor


async def async_connect(host: str, *, timeout: float = 10.0) -> tuple[str, float]:
    return host, timeout


def test_call_any_keywords_are_its_own_options() -> None:
    # timeout= here is call_any's limit, not the callee's parameter.
    assert call_any(connect, "db", timeout=3) == ("db", 10.0, "none")


def test_call_options_pass_every_keyword_to_the_callee() -> None:
    call = CallOptions(timeout=5)
    assert call(connect, "db", timeout=1.5, executor="x") == ("db", 1.5, "x")
    assert call(async_connect, "db", timeout=2.5) == ("db", 2.5)
    assert call.sync(connect, "db", timeout=3.5) == ("db", 3.5, "none")


def test_call_options_apply_their_own_timeout() -> None:
    with pytest.raises(CallAnyTimeout, match="sleep timed out after 0.05s"):
        CallOptions(timeout=0.05)(time.sleep, 2)


def test_call_options_in_event_loops(backend) -> None:
    call = CallOptions(timeout=5)

    async def main() -> list[object]:
        return [
            await call(connect, "a", timeout=1.0),
            await call(async_connect, "b", timeout=2.0),
            await call.async_(connect, "c", timeout=3.0),
        ]

    assert backend.run(main) == [("a", 1.0, "none"), ("b", 2.0), ("c", 3.0, "none")]


def test_call_options_repr() -> None:
    assert repr(CallOptions(timeout=1)) == (
        "CallOptions(timeout=1, executor=None, force_offload=False, thread_sensitive=False, "
        "inline=False)"
    )

"""The legacy forms of throw() reach the inline code's coroutine as ``await`` gives them.

Found by review of the C ``InlineChain``: its throw() turned every legacy
``(type, value[, traceback])`` form whose value was an exception into a throw of that
value alone (to spare 3.12+ a DeprecationWarning of that form on our behalf). Python's
own delegation (``await request``, the pure-Python driver) raises something else for
three of them: ``throw(ValueError, KeyError())`` raises ``ValueError(KeyError())``,
``throw(exc, exc)`` and ``throw(Class, instance, 5)`` raise a TypeError in the
coroutine, and ``throw(Class, instance, None)`` raises the instance with a fresh
traceback, not the one it carried. The chain now converts only the forms whose
exception is certain, and passes the others on as given.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from synchronaut_core import call_any

pytestmark = pytest.mark.filterwarnings("error")


def _raised() -> KeyError:
    try:
        raise KeyError("k")
    except KeyError as exc:
        return exc  # carries a traceback (through this function)


def _frames(exc: BaseException) -> list[str]:
    names: list[str] = []
    tb = exc.__traceback__
    while tb is not None:
        names.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    return names


FORMS: dict[str, Callable[[KeyError], tuple[Any, ...]]] = {
    "class, instance": lambda e: (KeyError, e),
    "class, instance, None": lambda e: (KeyError, e, None),
    "class, instance, traceback": lambda e: (KeyError, e, e.__traceback__),
    "base class, instance, traceback": lambda e: (LookupError, e, e.__traceback__),
    "instance, None, None": lambda e: (e, None, None),
    "instance, None, traceback": lambda e: (e, None, e.__traceback__),
    "mismatched class, instance": lambda e: (ValueError, e),
    "class, str": lambda e: (ValueError, "m"),
    "class, tuple": lambda e: (ValueError, (1, 2)),
    "instance, instance": lambda e: (e, e),
    "class, instance, not a traceback": lambda e: (KeyError, e, 5),
}


async def _returns(value: Any) -> Any:
    return value


def _seen_through(
    form: str, make: Callable[[Callable[[], Coroutine[Any, Any, str]]], Coroutine[Any, Any, Any]]
) -> list[Any]:
    """What the coroutine waiting in ``make(catcher)`` sees of the throw of ``form``."""
    seen: list[Any] = []

    async def catcher() -> str:
        try:
            await asyncio.sleep(3600)
        except BaseException as exc:
            seen.append((repr(exc), "_raised" in _frames(exc)))
            return "caught"
        return "slept"

    async def main() -> None:
        outer = make(catcher)
        future = outer.send(None)  # the sleep's future, yielded on to us
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the legacy form, 3.12+
            with pytest.raises(StopIteration) as stop:
                outer.throw(*FORMS[form](_raised()))
        seen.append(stop.value.value)
        future.cancel()

    asyncio.run(main())
    return seen


@pytest.mark.parametrize("form", list(FORMS))
def test_each_legacy_throw_form_is_what_await_gives(form: str) -> None:
    async def plain(catcher: Callable[[], Coroutine[Any, Any, str]]) -> Any:
        return await catcher()

    def service(catcher: Callable[[], Coroutine[Any, Any, str]]) -> Any:
        call_any(_returns, 1)  # an inner call first: the chain carries on to the next
        return call_any(catcher)

    def inline(catcher: Callable[[], Coroutine[Any, Any, str]]) -> Coroutine[Any, Any, Any]:
        return call_any(service, catcher, inline=True)

    assert _seen_through(form, inline) == _seen_through(form, plain)

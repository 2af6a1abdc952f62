"""Found by review: the C inline route named the function as it was when a message needed it.

``_call._dispatch`` (the specification) takes the name of an inline call's function
when the call is made (``_func_name``); the C route of ``call_any(def_fn,
inline=True)`` passed no name, and the driver read ``__name__`` later, when a message
needed it: a function that renames itself (a decorator factory, a registry) was named
differently in the C and the pure route's messages. Now the C route passes the name
the function has at the call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import greenlet
import pytest

from synchronaut_core import _call, call_any, call_sync

ENTRIES: dict[str, Callable[..., Any]] = {"C": call_any, "pure": _call._call_any_py}  # pyright: ignore[reportPrivateUsage]


async def _tick() -> None:
    await asyncio.sleep(0)


@pytest.mark.parametrize("entry", list(ENTRIES))
def test_messages_name_the_function_as_it_was_called(entry: str) -> None:
    bridge = ENTRIES[entry]

    def renames() -> None:
        renames.__name__ = "renamed"
        # A wait in a greenlet this inline code started: refused, naming the inline call.
        greenlet.greenlet(lambda: call_sync(_tick)).switch()

    async def main() -> None:
        await bridge(len, "", inline=True)  # inline mode loaded: the C route is in use
        renames.__name__ = "original"
        with pytest.raises(RuntimeError, match="inline code of original started"):
            await bridge(renames, inline=True)

    asyncio.run(main())

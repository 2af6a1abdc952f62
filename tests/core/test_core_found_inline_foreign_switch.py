"""Found by review: inline code that switched greenlets itself corrupted the next inline call.

Inline code runs in a greenlet whose parent is the task driving it. Code that switches
to that parent on its own (``greenlet.getcurrent().parent.switch(x)``: a greenlet-based
library, a hand-made trampoline) handed the driver a value that was not a coroutine:
the driver took it for the end of the call, returned ``None`` as its result, and put
the greenlet -- still suspended in the middle of the call -- back into the pool. The
next inline call on that thread resumed it instead of starting: it returned the
previous call's leftovers (``None``) and its own function never ran. Now such a switch
raises a RuntimeError where it was made, the call goes on (its ``finally`` blocks run)
and the greenlet is reused only once its call is over.
"""

from __future__ import annotations

import greenlet
import pytest
from support_backends import Backend

from synchronaut_core import call_any


def test_a_switch_of_its_own_is_refused_there_and_the_next_call_runs(backend: Backend) -> None:
    cleaned: list[str] = []

    async def fetch() -> str:
        await backend.checkpoint()
        return "fetched"

    def rogue() -> str:
        try:
            return greenlet.getcurrent().parent.switch("rogue")  # pyright: ignore[reportOptionalMemberAccess]
        finally:
            cleaned.append(call_any(fetch))  # the call goes on: bridge calls still work

    def recovers() -> str:
        try:
            greenlet.getcurrent().parent.switch("again")  # pyright: ignore[reportOptionalMemberAccess]
        except RuntimeError as exc:
            assert "switched to the greenlet driving it" in str(exc)
        return call_any(fetch)

    def answer() -> int:
        return 42

    async def main() -> None:
        with pytest.raises(RuntimeError, match="inline code of rogue switched"):
            await call_any(rogue, inline=True)
        assert cleaned == ["fetched"]
        assert await call_any(recovers, inline=True) == "fetched"
        for _ in range(40):  # every pooled greenlet: each starts its call afresh
            assert await call_any(answer, inline=True) == 42

    backend.run(main)

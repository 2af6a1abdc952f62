"""Found by review: the C inline route crashed when looking up the async marker ran code.

The C call_any's route for ``call_any(def_fn, inline=True)`` (``inline_enter``) looks
for ``_is_coroutine_marker`` in the function's ``__dict__`` through a *borrowed*
pointer to that dict. A key of the dict that is a ``str`` subclass with its own
``__eq__`` runs Python code during the lookup; code that replaces ``func.__dict__``
there freed the dict being searched: a segfault (Python's ``getattr`` -- the
specification's ``_detect._marked_async`` -- holds a reference for the lookup, and
gives the call's value). Run in a subprocess: a crash must fail the test, not the
worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

_SCRIPT = textwrap.dedent(
    """
    import asyncio, gc
    from synchronaut_core import call_any

    def f():
        return 42

    class Key(str):
        __hash__ = str.__hash__

        def __eq__(self, other):
            f.__dict__ = {}  # drops the dict being searched
            gc.collect()
            junk = [bytearray(64) for _ in range(2000)]  # reuse its memory
            return False

    async def main():
        values = set()
        for i in range(200):
            f.__dict__ = {Key("_is_coroutine_marker"): 1, **{f"k{j}": j for j in range(i % 7)}}
            values.add(await call_any(f, inline=True))
        print(sorted(values))

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("pure", [False, True], ids=["C", "pure"])
def test_a_marker_lookup_that_replaces_the_dict_does_not_crash(pure: bool) -> None:
    env = dict(os.environ)
    env.pop("SYNCHRONAUT_NO_EXTENSIONS", None)
    if pure:
        env["SYNCHRONAUT_NO_EXTENSIONS"] = "1"
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", _SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[42]"

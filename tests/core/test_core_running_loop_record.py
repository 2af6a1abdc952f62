"""The C accelerator reads asyncio's running-loop record instead of calling asyncio.

On 3.10 and 3.11, ``asyncio._get_running_loop()`` asks the kernel for the process id
at every call (a record set in another process names no loop of this one): call_any
in async code paid a system call each time, a third of its cost. The accelerator now
reads the record itself, keeping the process id and forgetting it at a fork. It must
say what asyncio says in every case: no loop, a loop, a loop hidden by inline code, a
child forked while the parent's loop runs, the pure-Python asyncio (whose record is
not the C one: never read), and after a fork in which the child starts a loop of its
own. Each case runs in a fresh interpreter (forks and a blocked ``_asyncio`` stay there),
on the C path and the pure one.
"""

from __future__ import annotations

import os
import sys

import pytest
from support_process import run_python

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

_PROBE = """
    import sys
    {before}
    import asyncio, os, warnings
    warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
    from synchronaut_core import call_any

    async def af():
        return "ran"

    def probe(where):
        got = call_any(af)
        kind = "coroutine" if asyncio.iscoroutine(got) else repr(got)
        if asyncio.iscoroutine(got):
            got.close()
        asyncio_says = "loop" if asyncio._get_running_loop() is not None else "none"
        print(where, kind, asyncio_says, flush=True)

    probe("outside")

    async def main():
        probe("inside")
        pid = os.fork()
        if pid == 0:
            try:
                probe("child-of-running")
                asyncio.set_event_loop(None)
                async def child_main():
                    probe("child-own-loop")
                asyncio.run(child_main())
                probe("child-after-own-loop")
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        probe("parent-after-fork")

    asyncio.run(main())
    probe("after")
"""

_EXPECTED = [
    "outside 'ran' none",
    "inside coroutine loop",
    "child-of-running 'ran' none",
    "child-own-loop coroutine loop",
    "child-after-own-loop 'ran' none",
    "parent-after-fork coroutine loop",
    "after 'ran' none",
]


@pytest.mark.parametrize("pure", [False, True], ids=["c", "pure"])
@pytest.mark.parametrize(
    "before",
    ["", "sys.modules['_asyncio'] = None  # the pure-Python asyncio"],
    ids=["c-asyncio", "pure-asyncio"],
)
def test_call_any_sees_the_running_loop_as_asyncio_does(pure: bool, before: str) -> None:
    env = dict(os.environ)
    env.pop("SYNCHRONAUT_NO_EXTENSIONS", None)
    if pure:
        env["SYNCHRONAUT_NO_EXTENSIONS"] = "1"
    # (_asyncio is blocked, if asked, before asyncio is first imported.)
    done = run_python(_PROBE.replace("{before}", before), env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = sorted(done.stdout.split("\n")[:-1], key=lambda line: _ORDER[line.split()[0]])
    assert lines == _EXPECTED, (lines, done.stderr)


_ORDER = {line.split()[0]: i for i, line in enumerate(_EXPECTED)}


def test_the_probe_really_ran_the_c_path() -> None:
    """The cases above are about the C path: it must be the one imported by default."""
    env = dict(os.environ)
    env.pop("SYNCHRONAUT_NO_EXTENSIONS", None)
    done = run_python(
        "from synchronaut_core import _accelerator; print(_accelerator._speedups is not None)",
        env=env,
    )
    assert done.returncode == 0, done.stderr
    if done.stdout.strip() != "True":
        pytest.skip(f"no C accelerator built for {sys.version_info[:2]}")

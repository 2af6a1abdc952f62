"""sync -> sync: a plain function called from plain sync code (no event loop here).

What synchronaut adds over a direct call is its classification (``co_flags``, "is a
loop running here?", "is Trio imported?"). The loop is unrolled ten times so the
``for`` loop's own cost is spread thin; the figures are still a few tens of ns, so
ratios move by a few tenths between runs.

The second group repeats the cases once Trio has been imported: synchronaut then
also has to ask Trio whether it is running in this thread.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import _env
from _harness import Case, Group, Settings, at_most, unrolled

from synchronaut_core import call_any, call_sync


def f(x: int) -> int:
    return x


def wrapper(
    func: Callable[..., Any],
    /,
    *args: Any,
    timeout: float | None = None,
    executor: Any = None,
    force_offload: bool = False,
    thread_sensitive: bool = False,
    **kwargs: Any,
) -> Any:
    """The least any pure-Python function with ``call_any``'s signature can cost."""
    return func(*args, **kwargs)


WRAPPER = "bare wrapper(f, x) (reference)"
AWAIT_WRAPPER = "await bare wrapper(af, x) (reference)"
WRAPPER_NOTE = (
    "a pure-Python function with call_any's signature that only calls func(*args, **kwargs): "
    "what any Python-level entry point costs before doing anything"
)


def _cases(trio_imported: bool) -> list[Case]:
    ns = {"f": f, "call_any": call_any, "call_sync": call_sync, "wrapper": wrapper}
    deco = _env.decorator()
    note = ""
    if not trio_imported and "trio" in sys.modules:
        note = "Trio was already imported: this group measures the Trio-imported path"
    cases = [
        Case("direct call f(x)", unrolled("f(1)", ns), per_op=10, floor=True, ctx="shared"),
        Case(WRAPPER, unrolled("wrapper(f, 1)", ns), per_op=10, ctx="shared", note=WRAPPER_NOTE),
        Case(
            "call_any(f, x)",
            unrolled("call_any(f, 1)", ns),
            per_op=10,
            synchronaut=True,
            targets=[] if trio_imported else [at_most(4)],
            pure_targets=[] if trio_imported else [at_most(6)],  # issue 17
            ctx="shared",
            note=note,
        ),
    ]
    if deco is None:
        cases.append(Case("@synchronaut f(x)", na=_env.NO_DECORATOR, synchronaut=True))
    else:
        g = deco(f)
        cases.append(
            Case(
                "@synchronaut f(x)",
                unrolled("g(1)", {"g": g}),
                per_op=10,
                synchronaut=True,
                targets=[] if trio_imported else [at_most(5)],
                pure_targets=[] if trio_imported else [at_most(5)],  # issue 17
                ctx="shared",
            )
        )
    cases.append(
        Case(
            "call_sync(f, x)",
            unrolled("call_sync(f, 1)", ns),
            per_op=10,
            synchronaut=True,
            ctx="shared",
        )
    )
    return cases


@contextmanager
def _plain(settings: Settings) -> Iterator[list[Case]]:
    yield _cases(trio_imported=False)


@contextmanager
def _with_trio(settings: Settings) -> Iterator[list[Case]]:
    if _env.optional("trio") is None:
        yield [Case("direct call f(x)", na=_env.missing("trio"), floor=True)]
        return
    yield _cases(trio_imported=True)


class _Repo:
    """A class with a plain method and a decorated one (the "method-access" group)."""

    def plain(self, x: int) -> int:
        return x

    def decorated(self, x: int) -> int:  # decorated in _methods, if the decorator exists
        return x


@contextmanager
def _methods(settings: Settings) -> Iterator[list[Case]]:
    """``obj.method``: a decorated method's attribute access against a bound method's.

    Access builds the bound form each time, as it builds a bound method; the decorated
    form holds the wrapper and the instance, like a bound method. (Calls are not
    measured here: ``@synchronaut f(x)`` above is the call's cost.)
    """
    deco = _env.decorator()
    cases = [
        Case(
            "obj.m (bound method access)",
            unrolled("o.plain", {"o": _Repo()}),
            per_op=10,
            floor=True,
        )
    ]
    if deco is None:
        cases.append(Case("@synchronaut obj.m (access)", na=_env.NO_DECORATOR, synchronaut=True))
    else:
        repo_class = type("_DecoratedRepo", (_Repo,), {"decorated": deco(_Repo.decorated)})
        cases.append(
            Case(
                "@synchronaut obj.m (access)",
                unrolled("o.decorated", {"o": repo_class()}),
                per_op=10,
                synchronaut=True,
                targets=[at_most(1.5)],
                pure_targets=[],  # the C accelerator's bound form; informational in pure Python
                note="a bound form of two references, made and freed in C as a bound method is",
            )
        )
    yield cases


GROUPS = [
    Group("sync-sync", "sync -> sync (plain thread, no loop)", _plain),
    Group("method-access", "decorated method: attribute access (plain thread)", _methods),
]
GROUPS_LATE = [
    Group("sync-sync-trio", "sync -> sync, Trio imported (informational)", _with_trio),
]

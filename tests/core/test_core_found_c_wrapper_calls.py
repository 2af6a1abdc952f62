"""Found by the adversarial review of the C accelerator: decorated functions' C call (DirectCall).

- The generic path looked ``_call`` up on the wrapper, so an attribute of the original
  named ``_call`` (copied into the wrapper's ``__dict__``, as every attribute of the
  original is) replaced the call; the pure path's ``__call__`` is found on the type.
- A chain of wrappers calling wrappers runs in C without a Python frame in between:
  a deep one overflowed the C stack (a segfault on 3.12 and 3.13) where the pure path
  raises RecursionError.
- ``__weakref__`` was missing on the C type (the pure base type has the slot).
"""

from __future__ import annotations

import weakref
from typing import Any

from support_process import run_python

from synchronaut_core import synchronaut


def _original(x: int) -> tuple[str, int]:
    return ("original", x)


def _hijack(*args: Any, **kwargs: Any) -> str:
    return "an attribute of the original"


_original._call = _hijack  # type: ignore[attr-defined]


def test_an_attribute_named_call_does_not_replace_the_call() -> None:
    with_options = synchronaut(timeout=5)(_original)
    assert with_options.__dict__["_call"] is _hijack  # the original's attributes are copied
    assert with_options(1) == ("original", 1)
    assert synchronaut(_original)(2) == ("original", 2)

    class Holder:
        @synchronaut(timeout=5)
        def method(self, x: int) -> tuple[str, int]:
            return ("method", x)

    Holder.__dict__["method"].__dict__["_call"] = _hijack
    assert Holder().method(3) == ("method", 3)
    assert Holder().method(*range(1, 2)) == ("method", 1)  # no lent slot: a copy


def test_a_deep_chain_of_wrappers_raises_recursion_error() -> None:
    # In a fresh interpreter: the failure was a crash of the whole process.
    code = """
        from synchronaut_core import synchronaut

        def f():
            return 1

        wrapper = f
        for _ in range(200_000):
            wrapper = synchronaut(wrapper)
        try:
            wrapper()
        except RecursionError as exc:
            print("RecursionError", exc)
        print(synchronaut(synchronaut(f))())
    """
    result = run_python(code, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("RecursionError maximum recursion depth exceeded"), lines
    assert lines[1:] == ["1"]


def test_a_wrapper_has_weakref_as_a_python_class_instance_does() -> None:
    wrapper = synchronaut(_original)
    assert wrapper.__weakref__ is None  # pyright: ignore[reportAttributeAccessIssue]
    ref = weakref.ref(wrapper)
    assert wrapper.__weakref__ is ref  # pyright: ignore[reportAttributeAccessIssue]

"""The C accelerator and the pure-Python path agree on a decorated method's descriptor protocol.

Found by an adversarial review, and fixed; what it found:

A differential run (the same script in a subprocess with and without
``SYNCHRONAUT_PURE_PYTHON=1``) of binding, pickling, copying, weakrefs, equality,
signatures and stacking agrees everywhere except here:

1. ``wrapper.__get__(None, None)`` on a decorated plain method, staticmethod, async
   def or generator: the pure path (``_Wrapper._get``, the specification) returns
   the wrapper itself; with C, ``__get__`` is CPython's slot wrapper of
   ``tp_descr_get`` (``wrap_descr_get``), which raises ``TypeError: __get__(None,
   None) is invalid`` before ``direct_call_descr_get`` is reached -- even for a
   staticmethod, whose ``_bound_type`` is None.
2. A bound form's ``__self__``/``__func__``: C members are READONLY (as a bound
   method's are); the pure ``_PyDirectCall`` has them as writable slots, so
   ``del obj.method.__self__`` or rebinding it succeeds in pure mode only.

Suggested fix: decide one behaviour and make the other path match -- e.g. make
``_Wrapper._get`` raise the same TypeError for ``(None, None)`` as functions do (they
raise it too), and expose ``__func__``/``__self__`` of ``_PyDirectCall`` through
read-only properties over private slots.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    from synchronaut_core import synchronaut

    class A:
        @synchronaut
        def m(self): return 1
        @synchronaut
        @staticmethod
        def s(): return 2
        @synchronaut
        async def am(self): return 3

    def show(label, thunk):
        try:
            outcome = type(thunk()).__name__
        except Exception as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        print(label, "->", outcome)

    for name in ("m", "s", "am"):
        show(f"{name}.__get__(None, None)", lambda: A.__dict__[name].__get__(None, None))
    a = A()
    def rebind():
        bound = a.m
        bound.__self__ = A()
    def unbind():
        bound = a.m
        del bound.__func__
    show("set bound.__self__", rebind)
    show("del bound.__func__", unbind)
    """
)


def _run(pure: bool) -> str:
    env = dict(os.environ)
    env.pop("SYNCHRONAUT_PURE_PYTHON", None)
    if pure:
        env["SYNCHRONAUT_PURE_PYTHON"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=30, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_c_and_pure_agree_on_the_descriptor_protocol() -> None:
    assert _run(pure=False) == _run(pure=True)

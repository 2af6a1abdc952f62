"""Whether the optional C accelerator (``_speedups``) is used: the one place that decides.

The package behaves the same without it (Python is the specification; C is only a
faster route to the same results). It is not used when:

- ``SYNCHRONAUT_NO_EXTENSIONS`` is set to anything but ``""`` or ``"0"`` (the aio-libs
  convention), or the older ``SYNCHRONAUT_PURE_PYTHON`` is set to anything non-empty
  (its 0.4 meaning, kept: even ``"0"`` disables);
- the interpreter is a free-threaded build (3.13t, 3.14t): the module relies on the
  GIL, and importing it there would re-enable the GIL for the whole process -- the
  pure path runs instead, truly in parallel;
- it was not built (no C compiler at install time): ``ImportError``.

Everything else (``_call``'s loader, ``_decorator``'s base type, ``ACCELERATED``, the
tests, ``python -m synchronaut``) asks this module. Importing it loads the extension
once; it starts nothing and logs nothing.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__: list[str] = []


def _disabled_by(environ: Any = os.environ) -> str | None:
    """The environment setting that turns the accelerator off, if one does."""
    value = environ.get("SYNCHRONAUT_NO_EXTENSIONS", "")
    if value not in ("", "0"):
        return f"SYNCHRONAUT_NO_EXTENSIONS={value}"
    value = environ.get("SYNCHRONAUT_PURE_PYTHON", "")
    if value:
        return f"SYNCHRONAUT_PURE_PYTHON={value}"
    return None


def _free_threaded() -> bool:
    """Is this a free-threaded (``--disable-gil``) build of CPython?

    Only 3.13+ has such builds. On POSIX their ABI flags carry a ``t`` (``sys.abiflags``
    costs nothing); sysconfig, which also loads the build's whole configuration, is
    asked only where ``sys.abiflags`` does not exist (Windows before 3.14). The import
    cost test holds us to this.
    """
    if sys.version_info < (3, 13):
        return False
    abiflags: str | None = getattr(sys, "abiflags", None)
    if abiflags is not None:
        return "t" in abiflags
    import sysconfig

    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def _load() -> tuple[Any, str]:
    """The extension module (or None) and, when None, why."""
    switch = _disabled_by()
    if switch is not None:
        return None, f"disabled by {switch}"
    if _free_threaded():
        # Never imported here: its module declares that it needs the GIL, and the
        # import would switch the GIL back on process-wide (see the README).
        return None, "free-threaded Python: the pure-Python path runs (the extension needs the GIL)"
    try:
        from . import _speedups
    except ImportError as exc:  # built without a C compiler: pure Python throughout
        return None, f"not built for this Python ({type(exc).__name__}: {exc})"
    return _speedups, ""


#: The C accelerator module when it is built and allowed, else None.
_speedups: Any
#: Why ``_speedups`` is None ("" when it is loaded).
_REASON: str
_speedups, _REASON = _load()

"""Found by the adversarial review of the C accelerator: where C decided otherwise than Python.

``call_any`` (C) must give what ``_call._call_any_py`` (the specification) gives. C
used to read ``sys.modules["sniffio"] = None`` (the idiom that blocks an import) as a
module and fail on it; to compare ``sniffio.thread_local.name`` as a str even when it
was an object with an ``__eq__`` of its own; and to bind a keyword that is a ``str``
subclass by its text, where Python's argument binding asks its ``__eq__``.
"""

from __future__ import annotations

import sys
import types
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from synchronaut_core import _call


def _outcome(call: Callable[..., Any], /, *args: Any, **kwargs: Any) -> tuple[str, str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an unawaited offload coroutine
        try:
            value = call(*args, **kwargs)
        except Exception as exc:
            return ("raised", type(exc).__name__, str(exc))
        if type(value) is types.CoroutineType:
            value.close()  # pyright: ignore[reportUnknownMemberType]
            return ("returned", "coroutine", "")
        return ("returned", type(value).__name__, repr(value))


def _same(*args: Any, **kwargs: Any) -> tuple[str, str, str]:
    """The outcome of the C call_any (when loaded), asserted equal to Python's."""
    c_path = _outcome(_call.call_any, *args, **kwargs)
    assert c_path == _outcome(_call._call_any_py, *args, **kwargs)  # pyright: ignore[reportPrivateUsage]
    return c_path


def _echo(*args: Any, **kwargs: Any) -> tuple[Any, ...]:
    return (args, kwargs)


@pytest.fixture
def modules() -> Iterator[dict[str, Any]]:
    """sys.modules, with "trio" and "sniffio" restored afterwards."""
    saved = {name: sys.modules[name] for name in ("trio", "sniffio") if name in sys.modules}
    yield sys.modules  # pyright: ignore[reportReturnType]
    for name in ("trio", "sniffio"):
        sys.modules.pop(name, None)
    sys.modules.update(saved)


def test_a_blocked_sniffio_is_absent_not_a_module(modules: dict[str, Any]) -> None:
    modules["sniffio"] = None  # import sniffio now raises ImportError: it is not there
    modules["trio"] = None
    assert _same(_echo, 1) == ("returned", "tuple", "((1,), {})")
    fake_trio = types.ModuleType("trio")  # imported, without the API C would need
    modules["trio"] = fake_trio
    assert _same(_echo, 1)[:2] == ("raised", "AttributeError")  # Python asks trio.lowlevel


class _AlwaysEqual:
    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        return True


class _RaisingStr(str):
    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        raise LookupError("compared")


@pytest.mark.parametrize(
    "name",
    [_AlwaysEqual(), _RaisingStr("trio"), _RaisingStr("asyncio")],
    ids=["always-equal", "raising-str-trio", "raising-str-asyncio"],
)
def test_sniffio_name_compares_as_python_compares_it(modules: dict[str, Any], name: object) -> None:
    sniffio = types.ModuleType("sniffio")
    sniffio.thread_local = types.SimpleNamespace(name=name)  # type: ignore[attr-defined]
    modules["sniffio"] = sniffio
    modules["trio"] = types.ModuleType("trio")
    outcome = _same(_echo, 1)
    if isinstance(name, _AlwaysEqual):
        assert outcome == ("returned", "coroutine", "")  # "in Trio": an offload to await
    else:
        assert outcome == ("raised", "LookupError", "compared")


class _MatchesAnything(str):
    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        return True


def test_a_str_subclass_keyword_is_bound_as_python_binds_it() -> None:
    def takes(x: int = 0, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return (x, kwargs)

    # Python's binding asks the keyword's __eq__: it matches call_any's first option
    # (timeout=1), and the callee gets no argument.
    assert _same(takes, **{_MatchesAnything("x"): 1}) == ("returned", "tuple", "(0, {})")
    assert _same(takes, **{_MatchesAnything("x"): 0})[:2] == ("raised", "ValueError")

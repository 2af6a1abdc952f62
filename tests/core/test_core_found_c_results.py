"""Found by the adversarial review of the C accelerator: values Python and C classified apart.

A ``def``'s value is run when Python's table of coroutine types says so
(``_detect._COROUTINE_TYPES``, asked with the type's hash). C used to look at
``__await__`` only: a metaclass whose ``__hash__`` raises (or which is unhashable)
failed only in Python. C now asks the same table for a type whose metaclass hashes or
compares in Python, so both raise the same errors; for any other type it still looks
at ``__await__`` (a class registered as a ``collections.abc.Coroutine`` without one is
returned by C and refused by Python: a strict xfail, the price of no dict lookup per
call). And an error of the cleanup after a failed run (a Ctrl-C landing in it)
propagates, chained, as Python's ``except`` gives it.
"""

from __future__ import annotations

import importlib.util
import types
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from synchronaut_core import _accelerator, _call, synchronaut


def _outcome(call: Callable[..., Any], /, *args: Any) -> tuple[str, str, str]:
    try:
        value = call(*args)
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc))
    return ("returned", type(value).__name__, "")


def _decorated_outcome(make: Callable[[], object]) -> tuple[str, str, str]:
    # A decorated def called from sync code: DirectCall's hot path (with C).
    return _outcome(synchronaut(make))


class _NotAwaitable:
    def send(self, value: object) -> None: ...
    def throw(self, *args: object) -> None: ...
    def close(self) -> None: ...


Coroutine.register(_NotAwaitable)  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]


class _RaisingHash(type):
    def __hash__(cls) -> int:
        raise LookupError("hashed")


class _Unhashable(type):
    def __eq__(cls, other: object) -> bool:
        return cls is other


class _HashRaises(metaclass=_RaisingHash):
    pass


class _UnhashableType(metaclass=_Unhashable):
    pass


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        pytest.param(
            _NotAwaitable,
            ("raised", "TypeError", "object _NotAwaitable can't be used in 'await' expression"),
            marks=pytest.mark.xfail(
                _accelerator._speedups is not None,  # pyright: ignore[reportPrivateUsage]
                strict=True,
                reason=(
                    "C returns a value whose type has no __await__ without asking Python's "
                    "table (a dict lookup on every call: ~13% more instructions per call); "
                    "a class registered as a Coroutine without __await__ is returned, not "
                    "refused as Python's failed await refuses it"
                ),
            ),
        ),
        (_HashRaises, ("raised", "LookupError", "hashed")),
        (_UnhashableType, ("raised", "TypeError", "unhashable type: '_Unhashable'")),
    ],
    ids=["registered-coroutine-without-await", "raising-metaclass-hash", "unhashable-metaclass"],
)
def test_a_returned_value_is_classified_by_pythons_table(
    kind: type, expected: tuple[str, str, str]
) -> None:
    def make() -> object:
        return kind()

    assert _outcome(_call.call_any, make) == expected
    assert _outcome(_call._call_any_py, make) == expected  # pyright: ignore[reportPrivateUsage]
    assert _decorated_outcome(make) == expected


def test_a_metaclass_hash_runs_as_often_as_in_python() -> None:
    hashed: list[str] = []

    class Counting(type):
        def __hash__(cls) -> int:
            hashed.append(cls.__name__)
            return id(cls) >> 4

    def make(name: str) -> Callable[[], object]:
        kind = Counting(name, (), {})
        return lambda: kind()

    def decorated(func: Callable[[], object]) -> object:
        return synchronaut(func)()  # DirectCall's hot path (with C)

    runs: list[Callable[[Callable[[], object]], object]] = [
        _call.call_any,
        _call._call_any_py,  # pyright: ignore[reportPrivateUsage]
        decorated,
    ]
    counts: list[int] = []
    for run in runs:
        hashed.clear()
        func = make("Fresh")  # a type no path has seen
        for _ in range(3):
            assert type(run(func)).__name__ == "Fresh"
        counts.append(len(hashed))
    assert counts[0] == counts[1] == counts[2] > 0, counts


def _other_instance() -> Any:
    """A second, separate instance of the C module (its own state)."""
    spec = importlib.util.find_spec("synchronaut_core._speedups")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(
    _accelerator._speedups is None,  # pyright: ignore[reportPrivateUsage]
    reason=f"C accelerator not loaded: {_accelerator._REASON}",  # pyright: ignore[reportPrivateUsage]
)
def test_a_failing_cleanup_propagates_chained_to_the_first_error() -> None:
    # Python: ``except BaseException: _close_if_unstarted(result); raise`` -- should the
    # cleanup raise (a Ctrl-C landing in it), that exception propagates, with the first
    # as its __context__. C used to print it as unraisable and raise the first.
    def resolve(result: object, func: object) -> object:
        raise ValueError("first")

    def close(result: object) -> None:
        raise KeyboardInterrupt("in the cleanup")

    other = _other_instance()
    fast = other.setup(
        _call._get_running_loop,  # pyright: ignore[reportPrivateUsage]
        _call._call_any_py,  # pyright: ignore[reportPrivateUsage]
        resolve,
        close,
        (),
        {},
        "call_any(func, /, *args, **kwargs)\n--\n\nA test instance.",
    )

    async def job() -> int:
        return 1

    coro = job()
    with pytest.raises(KeyboardInterrupt, match="in the cleanup") as caught:
        fast(lambda: coro)
    context = caught.value.__context__
    assert isinstance(context, ValueError)
    assert str(context) == "first"
    assert context.__traceback__ is not None
    coro.close()

    def close_quietly(result: object) -> None:
        return None

    quiet = other.setup(
        _call._get_running_loop,  # pyright: ignore[reportPrivateUsage]
        _call._call_any_py,  # pyright: ignore[reportPrivateUsage]
        resolve,
        close_quietly,
        (),
        {},
        "call_any(func, /, *args, **kwargs)\n--\n\nA test instance.",
    )
    coro = job()
    with pytest.raises(ValueError, match="first") as first:
        quiet(lambda: coro)
    assert first.value.__context__ is None
    coro.close()
    assert isinstance(coro, types.CoroutineType)

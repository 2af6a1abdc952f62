"""call_any's pure-Python entry (``_call._call_any_fast``) gives what the specification gives.

Without the C accelerator the public ``call_any`` is ``_call_any_fast``: the hot paths
under a signature without keyword-only parameters (CPython fills in the
specification's five defaults on every call, which cost more than the direct call it
wraps), options bound by ``_bind_options``. It is plain Python, so it is held to
``_call._call_any_py`` here in either mode: every kind in every context, with and
without each option, each argument shape, and the keywords whose binding only Python's
rules decide (a ``str`` subclass comparing equal to an option's name).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
import test_core_speedups_differential as differential
from hypothesis import HealthCheck, given, settings

from synchronaut_core import _accelerator, _call

fast = _call._call_any_fast  # pyright: ignore[reportPrivateUsage]
spec = _call._call_any_py  # pyright: ignore[reportPrivateUsage]


@pytest.fixture(autouse=True, scope="module")
def _shut_the_executor_down() -> Iterator[None]:
    yield
    if differential._executor is not None:  # pyright: ignore[reportPrivateUsage]
        differential._executor.shutdown()  # pyright: ignore[reportPrivateUsage]
        differential._executor = None  # pyright: ignore[reportPrivateUsage]


def test_without_the_accelerator_call_any_is_the_fast_entry() -> None:
    if _accelerator._speedups is None:  # pyright: ignore[reportPrivateUsage]
        assert _call.call_any is fast
        # What it shows is the specification's: name, signature, docstring.
        assert fast.__name__ == fast.__qualname__ == "call_any"
        assert inspect.signature(fast) == inspect.signature(spec)
        assert fast.__doc__ == spec.__doc__
        with pytest.raises(TypeError, match=r"^call_any\(\) missing 1 required positional"):
            fast()  # type: ignore[call-arg]
    else:
        assert _call.call_any is not fast


def test_the_options_are_bound_with_the_specifications_parameters() -> None:
    def options(func: Any) -> list[tuple[str, object]]:
        return [
            (p.name, p.default)
            for p in inspect.signature(func).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]

    bind = _call._bind_options  # pyright: ignore[reportPrivateUsage]
    assert options(bind) == options(spec)
    assert set(_call._OPTION_SET) == set(_call._OPTION_NAMES)  # pyright: ignore[reportPrivateUsage]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=differential.cases)
def test_the_fast_entry_and_the_specification_agree(case: list[Any]) -> None:
    assert differential.run_case(fast, case) == differential.run_case(spec, case), case


def test_every_hot_path_agrees() -> None:
    mismatches = [
        case
        for kind in sorted(differential.KINDS)
        for context in differential.CONTEXTS
        for shape in ("positional", "keyword", "star_kwargs", "too_many", "unknown_kw")
        for raises in (False, True)
        if differential.run_case(fast, case := [kind, context, "none", shape, raises])
        != differential.run_case(spec, case)
    ]
    assert mismatches == []


class _MatchesAnything(str):
    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        return True


class _RaisingStr(str):
    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        raise LookupError("compared")


def _outcome(call: Any, /, *args: Any, **kwargs: Any) -> tuple[str, str]:
    try:
        return ("returned", repr(call(*args, **kwargs)))
    except Exception as exc:
        return ("raised", f"{type(exc).__name__}: {exc}")


def _takes(x: int = 0, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    return (x, kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {_MatchesAnything("x"): 1},  # binds to timeout=1 (the first option it equals)
        {_MatchesAnything("x"): 0},  # timeout=0: ValueError
        {_RaisingStr("x"): 1},  # the comparison raises, from the binding
        {"x": 1, _MatchesAnything("y"): None},  # timeout=None: only defaults, x for _takes
        {"timeout": None, "inline": False, "x": 2},  # defaults named: the hot path
        {"timeout": 5, "x": 3},  # an option: _dispatch
        {"inline": "yes"},  # a bad option value: TypeError before anything runs
        {"func": 1},  # not an option: call_any's func is positional-only
    ],
    ids=lambda kwargs: ",".join(f"{type(k).__name__}:{k}" for k in kwargs),
)
def test_keywords_are_bound_as_the_specification_binds_them(kwargs: dict[str, Any]) -> None:
    assert _outcome(fast, _takes, **kwargs) == _outcome(spec, _takes, **kwargs)


def test_keywords_that_repeat_an_option_through_a_str_subclass_fail_alike() -> None:
    kwargs = {"timeout": 1, _MatchesAnything("x"): 2}  # both bind to timeout
    assert _outcome(fast, _takes, **kwargs) == _outcome(spec, _takes, **kwargs)
    assert _outcome(fast, _takes, **kwargs)[0] == "raised"

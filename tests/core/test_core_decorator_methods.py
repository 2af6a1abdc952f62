"""Decorated methods: ``obj.method`` is a light bound form that binds like a bound method.

``obj.method`` holds the wrapper and ``obj`` and nothing else (it used to be a whole
new wrapper, built on every access: 5-6 us; its cost is measured by the benchmarks'
"methods" group, not here). Calling it, ``.sync`` and ``.async_`` bind ``obj`` -- or,
for a classmethod, the class it is reached through -- in sync and async code; a
staticmethod binds nothing; stacked decorators bind as the inner one does. It keeps
no instance alive: the instance goes as soon as its last reference does, without the
cyclic collector.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synchronaut_core import (
    SynchronautAsync,
    SynchronautGen,
    SynchronautSync,
    _call,
    call_any,
    call_sync,
    synchronaut,
)


class Counter:
    """State per instance; one decorated method of each binding and kind."""

    step = 10

    def __init__(self, start: int) -> None:
        self.value = start

    @synchronaut
    def add(self, n: int) -> int:
        """Add to this counter."""
        self.value += n
        return self.value

    @synchronaut
    async def aadd(self, n: int) -> int:
        self.value += n
        return self.value

    @synchronaut
    @classmethod
    def scaled(cls, n: int) -> int:
        return cls.step * n

    @synchronaut
    @classmethod
    async def ascaled(cls, n: int) -> int:
        return cls.step * n

    @synchronaut
    @staticmethod
    def negate(n: int) -> int:
        return -n

    @synchronaut(timeout=30)
    @synchronaut
    def stacked(self, n: int) -> int:
        self.value += n
        return self.value

    @synchronaut(timeout=30)
    @synchronaut
    @classmethod
    def stacked_scaled(cls, n: int) -> int:
        return cls.step * n

    @synchronaut
    def upto(self, n: int) -> Iterator[int]:
        yield from range(self.value, self.value + n)


class BigCounter(Counter):
    step = 1000


# --- what each call gives, as the plain method would ----------------------------------


def _expected(obj: Counter, name: str, n: int) -> int:
    """The plain method's answer (and its effect on ``obj``)."""
    if name in ("add", "aadd", "stacked"):
        obj.value += n
        return obj.value
    if name in ("scaled", "ascaled", "stacked_scaled"):
        return type(obj).step * n
    return -n


METHODS = ["add", "aadd", "scaled", "ascaled", "negate", "stacked", "stacked_scaled"]
ENTRIES = ["call", "sync", "async_"]


def _entry(obj: Counter, name: str, entry: str) -> Callable[..., Any]:
    bound = getattr(obj, name)
    return bound if entry == "call" else getattr(bound, entry)


def test_every_method_binds_in_sync_code() -> None:
    for cls in (Counter, BigCounter):
        obj, twin = cls(1), cls(1)
        for name in METHODS:
            for entry in ("call", "sync"):
                assert _entry(obj, name, entry)(3) == _expected(twin, name, 3), (name, entry)
            assert asyncio.run(_entry(obj, name, "async_")(2)) == _expected(twin, name, 2)


def test_every_method_binds_in_async_code(run: Callable[..., Any]) -> None:
    async def main() -> list[tuple[int, int]]:
        got: list[tuple[int, int]] = []
        for cls in (Counter, BigCounter):
            obj, twin = cls(5), cls(5)
            for name in METHODS:
                for entry in ("call", "async_"):
                    call = _entry(obj, name, entry)
                    got.append((await call(4), _expected(twin, name, 4)))
                # .sync blocks even here, and still binds (it logs that it stalls the
                # loop when the method is async).
                got.append((_entry(obj, name, "sync")(1), _expected(twin, name, 1)))
        return got

    for value, expected in run(main):
        assert value == expected


def test_a_classmethod_binds_the_class_it_is_reached_through() -> None:
    assert Counter.scaled(2) == 20
    assert BigCounter.scaled(2) == 2000
    assert BigCounter(0).scaled.sync(3) == 3000
    assert BigCounter.stacked_scaled.sync(1) == 1000
    assert BigCounter.scaled.__self__ is BigCounter
    assert Counter(0).scaled.__self__ is Counter


def test_stacked_decorators_on_a_method_bind_the_instance() -> None:
    obj = Counter(0)
    assert obj.stacked(2) == 2
    assert obj.stacked.sync(3) == 5
    assert asyncio.run(obj.stacked.async_(4)) == 9
    assert call_any(obj.stacked, 1) == 10
    assert obj.stacked.__self__ is obj


def test_a_generator_method_binds() -> None:
    obj = Counter(7)
    assert list(obj.upto(3)) == [7, 8, 9]
    assert list(obj.upto.sync(2)) == [7, 8]

    async def main() -> list[int]:
        return [i async for i in obj.upto.async_(2)]

    assert asyncio.run(main()) == [7, 8]


def test_call_any_and_call_sync_of_a_bound_method() -> None:
    obj = Counter(0)
    assert call_any(obj.add, 1) == 1
    assert call_sync(obj.aadd, 2) == 3
    assert call_any(obj.add, 3, timeout=30) == 6
    assert call_any(Counter.scaled, 4) == 40

    async def main() -> tuple[int, int]:
        return await call_any(obj.add, 1), await call_any(obj.aadd, 1)

    assert asyncio.run(main()) == (7, 8)


# --- what the bound form is --------------------------------------------------------


def test_the_bound_form_holds_the_wrapper_and_the_instance_only() -> None:
    obj = Counter(0)
    bound = obj.add
    wrapper = Counter.__dict__["add"]
    assert bound.__func__ is wrapper
    assert bound.__self__ is obj
    # Nothing built per access: no dict of copied attributes, no bound method kept
    # (None/False/0 are the unset fields of the pure-Python form).
    held = [r for r in gc.get_referents(bound) if r is not None and r is not False and r != 0]
    assert sorted(map(id, held)) == sorted(map(id, [type(bound), wrapper, obj]))


def test_the_bound_form_is_of_the_decorators_kind_and_compares_as_bound_methods_do() -> None:
    obj, other = Counter(0), Counter(0)
    assert isinstance(obj.add, SynchronautSync)
    assert isinstance(obj.aadd, SynchronautAsync)
    assert isinstance(obj.upto, SynchronautGen)
    assert obj.add == obj.add
    assert hash(obj.add) == hash(obj.add)
    assert obj.add != other.add
    assert obj.add != obj.stacked
    assert len({obj.add, obj.add, other.add}) == 2
    assert obj.negate is Counter.__dict__["negate"]  # a staticmethod does not bind
    assert Counter.add is Counter.__dict__["add"]  # looked up on the class: the wrapper
    bound = obj.add
    assert bound.__get__(other, Counter) is bound  # a bound form is not bound again


def test_the_bound_form_shows_the_originals_metadata() -> None:
    obj = Counter(0)
    original = Counter.__dict__["add"].__wrapped__
    original.marker = "set on the function"  # type: ignore[attr-defined]
    try:
        bound: Any = obj.add
        assert bound.__name__ == "add"
        assert bound.__qualname__ == "Counter.add"
        assert bound.__doc__ == "Add to this counter."
        assert bound.__module__ == __name__
        assert bound.__wrapped__ == original.__get__(obj)
        assert bound.__code__ is original.__code__
        assert bound.__annotations__ == original.__annotations__
        assert str(inspect.signature(bound)) == "(n: 'int') -> 'int'"
        assert inspect.iscoroutinefunction(obj.aadd)
        assert not inspect.iscoroutinefunction(obj.add)
        assert "Counter.add of" in repr(bound)
    finally:
        del original.marker
    with pytest.raises(AttributeError):
        obj.add.no_such_attribute


def test_an_instance_goes_with_its_last_reference(run: Callable[..., Any]) -> None:
    # With the cyclic collector off: anything the bound forms kept (a cache, a cycle)
    # would keep the instance.
    gc.collect()
    gc.disable()
    try:
        obj = Counter(0)
        gone = weakref.ref(obj)
        obj.add(1)
        obj.add.sync(1)
        obj.aadd.sync(1)
        asyncio.run(obj.add.async_(1))
        list(obj.upto(2))

        async def main(target: Counter) -> None:
            await target.add(1)
            await target.aadd(1)
            await target.add.async_(1)
            await target.aadd.async_(1)
            await call_any(target.stacked, 1)

        run(main, obj)
        held = [obj.add, obj.add.sync, obj.aadd.async_, obj.scaled]
        del held
        del obj
        assert gone() is None
    finally:
        gc.enable()


def test_a_cycle_through_a_bound_form_is_collected() -> None:
    obj = Counter(0)
    obj.callback = obj.add  # type: ignore[attr-defined]  # obj -> bound form -> obj
    gone = weakref.ref(obj)
    del obj
    gc.collect()
    assert gone() is None


def test_a_long_chain_of_bound_forms_is_freed_without_deep_recursion() -> None:
    # Each bound to the previous one: freeing the last frees them all, one by one
    # (CPython's trashcan), not in a recursion as deep as the chain.
    wrapper = Counter.__dict__["add"]
    chain: Any = Counter(0)
    for _ in range(200_000):
        chain = wrapper.__get__(chain, Counter)
    del chain


@pytest.mark.skipif(_call._speedups is None, reason="the C accelerator is not in use")
def test_only_field_less_subclasses_are_freed_by_the_c_base_type() -> None:
    speedups: Any = _call._speedups

    class WithSlots(speedups.DirectCall):
        __slots__ = ("extra",)

    with pytest.raises(TypeError, match="adds fields"):
        speedups.adopt(WithSlots)
    with pytest.raises(TypeError, match="subclass of DirectCall"):
        speedups.adopt(int)

    finalized: list[str] = []

    class WithDel(speedups.DirectCall):
        __slots__ = ()

        def __del__(self) -> None:
            finalized.append("del")

    speedups.adopt(WithDel)
    WithDel()
    assert finalized == ["del"]

    # The bound forms' classes are field-less on this Python: adopted at import (where
    # a refusal is silent, as only speed differs), so this must not raise.
    for bound in (Counter(0).add, Counter(0).aadd, Counter.scaled, Counter(0).upto):
        speedups.adopt(type(bound))


# --- a search over instances, bindings, entries and contexts ---------------------------

OPERATIONS = st.lists(
    st.tuples(
        st.integers(0, 2),  # which of three instances
        st.sampled_from(METHODS),
        st.sampled_from(ENTRIES),
        st.booleans(),  # from async code (else sync code)
        st.integers(-5, 5),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(OPERATIONS, st.booleans())
def test_bindings_keep_per_instance_state(operations: list[Any], sub: bool) -> None:
    """Any interleaving of calls on several instances: each sees only its own state."""
    cls = BigCounter if sub else Counter
    objs = [cls(i * 100) for i in range(3)]
    twins = [cls(i * 100) for i in range(3)]

    async def in_loop(call: Callable[..., Any], n: int) -> int:
        result = call(n)
        return await result if inspect.isawaitable(result) else result

    for index, name, entry, from_async, n in operations:
        call = _entry(objs[index], name, entry)
        expected = _expected(twins[index], name, n)
        if from_async:
            got = asyncio.run(in_loop(call, n))
        elif entry == "async_":
            got = asyncio.run(call(n))
        else:
            got = call(n)
        assert got == expected, (index, name, entry, from_async)
    assert [o.value for o in objs] == [t.value for t in twins]

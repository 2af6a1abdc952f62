"""Decorated functions pickle by reference and are atomic to ``copy``, as functions are.

Every kind (``def``, ``async def``, both generator kinds), methods, classmethods,
staticmethods, stacked decorators, their bound forms (``obj.method``, pickled as a
bound method is: the wrapper by reference, its object by value) and their ``.sync``/
``.async_`` entries, under every pickle protocol and in both modes (the C base type
and pure Python). A wrapper that cannot be found again by name fails at pickling
time with a clear error.

In another process: a process pool given a decorated function runs it in the child,
and the child never places the call again -- a wrapper whose own executor is a
process pool (and which would offload even from sync code: ``force_offload`` or a
``timeout``) runs its call in the child it was sent to, not in a grandchild. (The
everyday process-pool and Dask paths are in tests/integration/
test_integration_process_pools.py.)
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import pickle
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from synchronaut_core import call_any, synchronaut

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)


def _where(value: int) -> tuple[int, int, int]:
    """``(value, this process, its parent)``: tells a child from a grandchild."""
    parent = multiprocessing.parent_process()
    return value, os.getpid(), parent.pid if parent is not None and parent.pid else -1


@synchronaut
def double(n: int) -> int:
    return 2 * n


@synchronaut(timeout=30)
async def async_double(n: int) -> int:
    return 2 * n


@synchronaut
def count(n: int) -> Iterator[int]:
    yield from range(n)


@synchronaut
async def async_count(n: int) -> AsyncIterator[int]:
    for i in range(n):
        yield i


@synchronaut(timeout=30)
@synchronaut
def stacked(n: int) -> int:
    return n + 1


class Store:
    """A picklable object with decorated methods of every binding."""

    scale = 3

    def __init__(self, base: int) -> None:
        self.base = base

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Store) and other.base == self.base

    __hash__ = None  # type: ignore[assignment]

    @synchronaut
    def add(self, n: int) -> int:
        return self.base + n

    @synchronaut
    async def async_add(self, n: int) -> int:
        return self.base + n

    @synchronaut
    @classmethod
    def scaled(cls, n: int) -> int:
        return cls.scale * n

    @synchronaut
    @staticmethod
    def negate(n: int) -> int:
        return -n

    class Inner:
        @synchronaut
        def nested(self) -> str:
            return "nested"


MODULE_LEVEL: list[Callable[..., Any]] = [
    double,
    async_double,
    count,
    async_count,
    stacked,
    Store.__dict__["add"],
    Store.__dict__["async_add"],
    Store.__dict__["scaled"],
    Store.negate,
    Store.Inner.__dict__["nested"],
]
IDS = [getattr(f, "__qualname__", repr(f)) for f in MODULE_LEVEL]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("wrapper", MODULE_LEVEL, ids=IDS)
def test_a_decorated_function_pickles_by_reference(wrapper: object, protocol: int) -> None:
    assert pickle.loads(pickle.dumps(wrapper, protocol)) is wrapper


@pytest.mark.parametrize("wrapper", MODULE_LEVEL, ids=IDS)
def test_a_decorated_function_is_atomic_to_copy_and_deepcopy(wrapper: object) -> None:
    assert copy.copy(wrapper) is wrapper
    assert copy.deepcopy(wrapper) is wrapper
    # A structure holding one deep-copies around it, as around a function.
    structure = {"handler": wrapper, "data": [1, [2]]}
    copied = copy.deepcopy(structure)
    assert copied["handler"] is wrapper
    assert copied["data"] == [1, [2]]
    assert copied["data"] is not structure["data"]


#: What a user reaches: ``Store.scaled`` is bound to the class (a classmethod).
REACHABLE: list[Callable[..., Any]] = [f for f in MODULE_LEVEL if f is not Store.__dict__["scaled"]]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("wrapper", REACHABLE, ids=[f.__qualname__ for f in REACHABLE])
def test_the_sync_and_async_entries_pickle_by_reference(wrapper: Any, protocol: int) -> None:
    for entry in (wrapper.sync, wrapper.async_):
        assert pickle.loads(pickle.dumps(entry, protocol)) is entry
        assert copy.deepcopy(entry) is entry


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_entries_of_a_bound_method_pickle_as_bound_methods(protocol: int) -> None:
    store = Store(4)
    for entry, expected in ((store.add.sync, 5), (Store.scaled.sync, 3), (store.scaled.sync, 3)):
        again: Any = pickle.loads(pickle.dumps(entry, protocol))
        assert again(1) == expected
        assert again.__name__ == "sync"
    again = pickle.loads(pickle.dumps(store.add.async_, protocol))
    assert again.__self__.__self__ == store  # the entry of a bound form of a copy of store
    assert again.__self__.__func__ is Store.__dict__["add"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_bound_method_pickles_as_a_bound_method_does(protocol: int) -> None:
    store = Store(10)
    for bound, expected in (
        (store.add, 15),
        (store.async_add, 15),
        (store.scaled, 15),
        (Store.scaled, 15),
        (store.negate, -5),
    ):
        again: Any = pickle.loads(pickle.dumps(bound, protocol))
        assert again == bound or again.__self__ == bound.__self__
        assert again(5) == expected
        assert again.sync(5) == expected
    again = pickle.loads(pickle.dumps(store.add, protocol))
    assert again.__func__ is Store.__dict__["add"]
    assert again.__self__ == store
    assert again.__self__ is not store  # the object travels by value
    assert pickle.loads(pickle.dumps(store.scaled, protocol)).__self__ is Store


def test_a_bound_method_copies_as_a_bound_method_does() -> None:
    store = Store(1)
    assert copy.copy(store.add) == store.add
    deep: Any = copy.deepcopy(store.add)
    assert deep.__func__ is Store.__dict__["add"]
    assert deep.__self__ == store
    assert deep.__self__ is not store  # deepcopy copies the object, as for methods
    assert deep(1) == 2
    # One copy of the object for all the methods bound to it in a structure.
    pair: Any = copy.deepcopy([store.add, store.async_add])
    assert pair[0].__self__ is pair[1].__self__
    assert copy.deepcopy(Store.scaled).__self__ is Store


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_unpickled_functions_still_work(protocol: int) -> None:
    def trip(obj: Any) -> Any:
        return pickle.loads(pickle.dumps(obj, protocol))

    assert trip(double)(4) == 8
    assert trip(async_double)(4) == 8
    assert list(trip(count)(3)) == [0, 1, 2]
    assert list(trip(async_count)(2)) == [0, 1]
    assert trip(stacked).sync(1) == 2


def test_a_decorated_function_that_cannot_be_found_by_name_fails_to_pickle() -> None:
    @synchronaut
    def local(n: int) -> int:
        return n

    with pytest.raises(pickle.PicklingError, match=r"cannot pickle .*local.*not found as"):
        pickle.dumps(local)

    # Found under its name, but something else is there now.
    replaced = synchronaut(double.__wrapped__)
    with pytest.raises(pickle.PicklingError, match="not found as"):
        pickle.dumps(replaced)
    # Not a module-level object: still atomic to copy (as a local function is).
    assert copy.deepcopy(local) is local


# --- in another process ------------------------------------------------------------


def _spawn_pool(workers: int = 1) -> ProcessPoolExecutor:
    # "spawn": forking a process running threads is unsafe (Python 3.12+ warns).
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


#: The executor of the functions below: in a child that imports this module, a pool
#: object of its own (no process starts before a submit).
OWN_POOL = _spawn_pool()


@synchronaut(executor=OWN_POOL, force_offload=True)
def always_in_own_pool(n: int) -> tuple[int, int, int]:
    return _where(n)


@synchronaut(executor=OWN_POOL, timeout=60)
def timed_in_own_pool(n: int) -> tuple[int, int, int]:
    return _where(n)


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    with _spawn_pool() as pool, OWN_POOL:  # OWN_POOL's processes stop with it
        yield pool


def _in_a_child(where: tuple[int, int, int], value: int) -> None:
    got, pid, parent = where
    assert got == value
    assert pid != os.getpid()
    assert parent == os.getpid(), "run in a grandchild: the child offloaded the call again"


def test_a_pool_given_a_wrapper_with_its_own_pool_runs_it_in_the_child(
    pool: ProcessPoolExecutor,
) -> None:
    # The child unpickles the wrapper and calls it: were its options applied there,
    # the call would go to the child's own pool (a grandchild).
    _in_a_child(pool.submit(always_in_own_pool, 1).result(timeout=120), 1)
    _in_a_child(pool.submit(timed_in_own_pool, 2).result(timeout=120), 2)
    _in_a_child(pool.submit(always_in_own_pool.sync, 3).result(timeout=120), 3)


@pytest.mark.usefixtures("pool")  # (which stops OWN_POOL's processes)
def test_a_wrapper_with_its_own_pool_offloads_there_from_this_process() -> None:
    # In the process that made it, its options hold: the pool, a child.
    _in_a_child(always_in_own_pool(4), 4)
    _in_a_child(timed_in_own_pool(5), 5)
    _in_a_child(call_any(always_in_own_pool, 6), 6)


def test_a_pool_runs_bound_methods_stacked_and_async_wrappers(pool: ProcessPoolExecutor) -> None:
    store = Store(7)
    assert pool.submit(store.add, 1).result(timeout=120) == 8
    assert pool.submit(store.scaled, 2).result(timeout=120) == 6
    assert pool.submit(Store.negate, 3).result(timeout=120) == -3
    assert pool.submit(stacked, 1).result(timeout=120) == 2
    assert pool.submit(async_double, 4).result(timeout=120) == 8


def test_call_any_sends_methods_and_stacked_functions_to_a_process_pool(
    pool: ProcessPoolExecutor,
) -> None:
    # The pool is sent the original (the name holds the wrapper): a stand-in that
    # pickles as the wrapper's reference and calls the original in the child.
    store = Store(2)
    assert call_any(store.add, 1, executor=pool, force_offload=True) == 3
    assert call_any(Store.scaled, 5, executor=pool, force_offload=True) == 15
    assert call_any(Store.negate, 5, executor=pool, force_offload=True) == -5
    assert call_any(stacked, 1, executor=pool, force_offload=True) == 2
    assert call_any(double.sync, 4, executor=pool, force_offload=True) == 8

"""The optional C accelerator: present in the test environment, same behaviour as Python."""

from __future__ import annotations

import functools
import inspect
import os
import threading

import pytest

from synchronaut_core import _call, call_any

PURE = bool(os.environ.get("SYNCHRONAUT_PURE_PYTHON"))
IMPLEMENTATIONS = [pytest.param(_call._call_any_py, id="python")]
if not PURE:
    IMPLEMENTATIONS.append(pytest.param(call_any, id="c"))


def add(a: int, b: int = 10) -> int:
    return a + b


async def async_add(a: int, b: int = 10) -> int:
    return a + b


class Adder:
    def add(self, a: int) -> int:
        return a + 1

    def __call__(self, a: int) -> int:
        return a + 2


@pytest.mark.skipif(PURE, reason="SYNCHRONAUT_PURE_PYTHON is set")
def test_c_accelerator_is_built_and_used() -> None:
    assert _call._speedups is not None, (
        "the C accelerator is not built for this Python; editable installs are shared "
        "between Pythons, so rebuild: uv sync --reinstall-package synchronaut-core"
    )
    assert call_any is not _call._call_any_py
    assert call_any.__module__ == "synchronaut_core"

    def shape(func: object) -> list[tuple[str, object, object]]:
        params = inspect.signature(func).parameters.values()  # type: ignore[arg-type]
        return [(p.name, p.kind, p.default) for p in params]

    assert shape(call_any) == shape(_call._call_any_py)
    assert "the right way for where you are" in (call_any.__doc__ or "")


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_sync_code_paths_agree(impl) -> None:
    assert impl(add, 1) == 11
    assert impl(add, 1, b=2) == 3
    assert impl(add, a=1, b=3) == 4
    assert impl(add, 1, timeout=5) == 11  # an option: the Python path
    assert impl(Adder().add, 1) == 2  # bound method
    assert impl(Adder(), 1) == 3  # callable object
    assert impl(functools.partial(add, 5), 5) == 10
    assert impl(len, "abc") == 3  # builtin
    assert impl(async_add, 1) == 11  # blocks on the background loop
    assert impl(lambda: async_add(2)) == 12  # a def returning a coroutine
    assert impl(threading.get_ident) == threading.get_ident()


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_errors_agree(impl) -> None:
    with pytest.raises(TypeError, match="must be callable"):
        impl(42)
    with pytest.raises(TypeError):
        impl()
    with pytest.raises(TypeError):
        impl(add)  # the callee's own TypeError: missing argument
    with pytest.raises(ValueError, match="timeout must be"):
        impl(add, 1, timeout=-1)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_event_loop_paths_agree(impl, backend) -> None:
    async def main() -> list[int]:
        return [
            await impl(async_add, 1),
            await impl(async_add, 1, b=5),
            await impl(add, 2),
            await impl(Adder().add, 3),
        ]

    assert backend.run(main) == [11, 6, 12, 4]


def test_free_threaded_check_agrees_with_the_build_configuration() -> None:
    # The cheap check (sys.abiflags) must say what sysconfig says, on every Python of CI.
    import sysconfig

    from synchronaut_core import _accelerator

    assert _accelerator._free_threaded() is bool(sysconfig.get_config_var("Py_GIL_DISABLED"))

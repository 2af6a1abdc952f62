"""The optional C accelerator: used when built and allowed, same behaviour as Python.

When it is not loaded, its tests skip and say why -- the switch
(SYNCHRONAUT_NO_EXTENSIONS / SYNCHRONAUT_PURE_PYTHON), a free-threaded Python, or a
build without a C compiler as recorded in the wheel's ``speedups.json`` -- and fail only
when the build recorded it as built (or recorded nothing) and it still did not load.
"""

from __future__ import annotations

import functools
import importlib.metadata
import inspect
import json
import os
import subprocess
import sys
import threading
from typing import Any

import pytest

from synchronaut_core import ACCELERATED, _accelerator, _call, call_any


def _build_record() -> dict[str, Any] | None:
    """What the build hook recorded in dist-info (None if nothing was recorded)."""
    try:
        text = importlib.metadata.distribution("synchronaut-core").read_text(
            "extra_metadata/speedups.json"
        )
    except importlib.metadata.PackageNotFoundError:
        return None
    return None if text is None else json.loads(text)


def _why_not_loaded() -> str | None:
    """Why it is right that the accelerator is not loaded here, or None if it is wrong."""
    if _accelerator._disabled_by() is not None or _accelerator._free_threaded():
        return _accelerator._REASON
    record = _build_record()
    if record is not None and record.get("built") is False:
        return f"built without the C accelerator: {record.get('reason') or 'no reason recorded'}"
    return None


_SKIP_REASON = None if ACCELERATED else _why_not_loaded()
requires_accelerator = pytest.mark.skipif(
    _SKIP_REASON is not None, reason=f"C accelerator not loaded: {_SKIP_REASON}"
)

IMPLEMENTATIONS = [pytest.param(_call._call_any_py, id="python")]
if ACCELERATED:
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


@requires_accelerator
def test_c_accelerator_is_built_and_used() -> None:
    # Reached without the accelerator only when the build said it was built (or said
    # nothing): then it should have loaded.
    assert _call._speedups is not None, (
        f"the C accelerator was built but did not load ({_accelerator._REASON}); "
        f"the build recorded: {_build_record()}"
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


@pytest.mark.parametrize(
    ("environ", "switched_off"),
    [
        ({}, False),
        ({"SYNCHRONAUT_NO_EXTENSIONS": ""}, False),
        ({"SYNCHRONAUT_NO_EXTENSIONS": "0"}, False),
        ({"SYNCHRONAUT_NO_EXTENSIONS": "1"}, True),
        ({"SYNCHRONAUT_NO_EXTENSIONS": "yes"}, True),
        ({"SYNCHRONAUT_PURE_PYTHON": ""}, False),
        ({"SYNCHRONAUT_PURE_PYTHON": "0"}, True),  # 0.4's meaning: any non-empty value
        ({"SYNCHRONAUT_PURE_PYTHON": "1"}, True),
        ({"SYNCHRONAUT_NO_EXTENSIONS": "0", "SYNCHRONAUT_PURE_PYTHON": "1"}, True),
    ],
)
def test_the_switch_values(environ: dict[str, str], switched_off: bool) -> None:
    assert (_accelerator._disabled_by(environ) is not None) is switched_off


@requires_accelerator
@pytest.mark.parametrize(
    ("name", "value", "loaded"),
    [
        ("SYNCHRONAUT_NO_EXTENSIONS", "0", True),
        ("SYNCHRONAUT_NO_EXTENSIONS", "1", False),
        ("SYNCHRONAUT_PURE_PYTHON", "0", False),
    ],
)
def test_the_switch_in_a_fresh_interpreter(name: str, value: str, loaded: bool) -> None:
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SYNCHRONAUT_NO_EXTENSIONS", "SYNCHRONAUT_PURE_PYTHON")
    }
    environ[name] = value
    code = (
        "import synchronaut_core as s, sys; from synchronaut_core import _accelerator as a\n"
        "print(s.ACCELERATED, s.call_any is s._call._call_any_fast, 'synchronaut_core._speedups'"
        " in sys.modules, a._REASON)"
    )
    out = (
        subprocess.run(
            [sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True
        )
        .stdout.strip()
        .split(maxsplit=3)
    )
    assert out[:3] == [str(loaded), str(not loaded), str(loaded)]
    if not loaded:
        assert out[3] == f"disabled by {name}={value}"


@pytest.mark.parametrize(
    ("record", "switch", "skips"),
    [
        (None, None, False),  # nothing recorded: it should have loaded
        ({"built": True, "reason": ""}, None, False),  # built: it should have loaded
        ({"built": False, "reason": "C compiler failed: x"}, None, True),
        ({"built": True, "reason": ""}, "SYNCHRONAUT_NO_EXTENSIONS=1", True),
    ],
)
def test_not_loaded_skips_only_when_that_is_right(
    monkeypatch: pytest.MonkeyPatch, record: dict[str, Any] | None, switch: str | None, skips: bool
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "_build_record", lambda: record)
    monkeypatch.setattr(_accelerator, "_disabled_by", lambda environ=None: switch)
    monkeypatch.setattr(_accelerator, "_free_threaded", lambda: False)
    reason = _why_not_loaded()
    assert (reason is not None) is skips
    if record is not None and record["built"] is False:
        assert reason is not None and "C compiler failed: x" in reason

"""The built sdists and wheels: licence, versions, metadata PyPI shows, core's C or pure build.

All built offline from a copy of packages/ outside git (conftest ``dists``), with stale
compiled files planted in core's src/ -- the defects issue 15 found: a wheel shipping
another Python's .so, a .so copied into src/, a temp folder left per build.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import sysconfig
from pathlib import Path

import pytest
from support_packaging import (
    MODULES,
    PACKAGES,
    REPO_URL,
    ROOT,
    STALE,
    Artifact,
    Dists,
    built,
    pyproject_version,
    run,
    uv_build,
)

pytestmark = pytest.mark.slow

KINDS = ("sdist", "wheel")
FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def _speedups_record(wheel: Artifact) -> dict[str, object]:
    """What core's build hook recorded in the wheel (extra_metadata/speedups.json)."""
    return json.loads(wheel.read(wheel.find(".dist-info/extra_metadata/speedups.json")))


def _import_report(wheels: list[Artifact], tmp_path: Path, code: str) -> str:
    """Run ``code`` with only the unpacked wheels (and the standard library) importable.

    ``-S``: no site-packages, so neither this environment's editable installs nor their
    meta-path finder (which serves the editable build's .so) can stand in for the wheels.
    """
    paths = [str(wheel.extract(tmp_path / wheel.path.stem)) for wheel in wheels]
    done = run(
        [sys.executable, "-S", "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": os.pathsep.join(paths)},
    )
    return done.stdout.strip()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", PACKAGES)
def test_every_artifact_carries_the_mit_license(dists: Dists, name: str, kind: str) -> None:
    artifact = built(dists.out, name, kind)
    member = artifact.find(".dist-info/licenses/LICENSE" if kind == "wheel" else "/LICENSE")
    assert artifact.read(member) == (ROOT / "LICENSE").read_bytes()
    metadata = artifact.metadata()
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]


@pytest.mark.parametrize("name", PACKAGES)
def test_metadata_version_is_pyproject_version_is_dunder_version(
    dists: Dists, name: str, tmp_path: Path
) -> None:
    expected = pyproject_version(dists.packages / name)
    for kind in KINDS:
        metadata = built(dists.out, name, kind).metadata()
        assert metadata["Name"] == name
        assert metadata["Version"] == expected, f"{kind} of {name}"
        # Pinned in each pyproject (core-metadata-version): 2.4 has License-Expression and
        # is accepted by PyPI and twine >= 6.1; hatchling >= 1.32's default, 2.5, is
        # rejected by twine < 7 and older publishing actions.
        assert metadata["Metadata-Version"] == "2.4", f"{kind} of {name}"
    # The meta-package imports the three parts: all four wheels on the path.
    wheels = [built(dists.out, part, "wheel") for part in PACKAGES]
    code = f"import {MODULES[name]} as m; print(m.__version__)"
    assert _import_report(wheels, tmp_path, code) == expected


def test_meta_package_pins_each_part_at_its_own_version(dists: Dists) -> None:
    version = pyproject_version(dists.packages / "synchronaut")
    requires = built(dists.out, "synchronaut", "wheel").metadata().get_all("Requires-Dist") or []
    pins = {req for req in requires if "extra ==" not in req}
    assert pins == {f"{part}=={version}" for part in PACKAGES if part != "synchronaut"}


@pytest.mark.parametrize("name", PACKAGES)
def test_readme_on_pypi_stands_alone(dists: Dists, name: str) -> None:
    metadata = built(dists.out, name, "wheel").metadata()
    assert metadata["Description-Content-Type"] == "text/markdown"
    description = metadata.get_payload()
    assert isinstance(description, str)
    assert description.startswith(f"# {name}\n")
    # On PyPI a relative link (../../README.md) leads nowhere.
    links = re.findall(r"\]\(([^)\s]+)\)", description)
    assert links, f"{name}: its README links to nothing (not even the manual)"
    relative = [link for link in links if not link.startswith(("https://", "#"))]
    assert relative == [], f"{name}: relative links in the README shown on PyPI"
    urls = dict(entry.split(", ", 1) for entry in metadata.get_all("Project-URL") or [])
    assert urls["Source"] == REPO_URL
    assert urls["Issues"] == f"{REPO_URL}/issues"


def test_core_wheel_is_built_for_this_python_only(dists: Dists) -> None:
    wheel = built(dists.out, "synchronaut-core", "wheel")
    record = _speedups_record(wheel)
    if not record["built"]:
        # The fallback is a pure wheel (proven by the tests below); a binary one can be
        # checked only where it can be built.
        assert wheel.tag == "py3-none-any"
        if FREE_THREADED:
            pytest.skip("free-threaded Python: core builds the pure wheel by design")
        compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
        if shutil.which(compiler) is None:
            pytest.skip(f"no C compiler ({compiler}): {record['reason']}")
        pytest.fail(f"{compiler} exists but the accelerator was not built: {record['reason']}")
    cache_tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    platform_tag = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    assert wheel.tag == f"{cache_tag}-{cache_tag}-{platform_tag}"
    compiled = [n for n in wheel.names() if n.endswith((".so", ".pyd"))]
    ext_suffix = sysconfig.get_config_var("EXT_SUFFIX")
    assert compiled == [f"synchronaut_core/_speedups{ext_suffix}"], (
        "only the extension built now, for this Python, is shipped"
    )
    assert wheel.read(compiled[0]) != STALE[f"_speedups{ext_suffix}"]
    assert record["python"] == sysconfig.get_config_var("SOABI")


def test_no_sdist_ships_a_compiled_file(dists: Dists) -> None:
    for name in PACKAGES:
        sdist = built(dists.out, name, "sdist")
        assert [n for n in sdist.names() if n.endswith((".so", ".pyd", ".o"))] == []
    core = built(dists.out, "synchronaut-core", "sdist")
    # What a build from the sdist needs: the C source and the hook.
    assert core.find("/src/synchronaut_core/_speedups.c")
    assert core.find("/hatch_build.py")


def test_builds_leave_src_unchanged_and_no_temp_folder(dists: Dists) -> None:
    assert dists.src_after == dists.src_before, "a build wrote into packages/*/src"
    left = sorted(p.name for p in dists.tmp.glob("synchronaut-speedups-*"))
    assert left == [], "the build hook left its temp folder(s)"


def test_build_output_has_no_compiler_warning(dists: Dists) -> None:
    assert "synchronaut-core: C accelerator" in dists.log, "the hook's verdict is printed"
    warnings = [line for line in dists.log.splitlines() if re.search(r"warning\b", line, re.I)]
    if "C accelerator NOT built" in dists.log:
        # The fallback's verdict is a warning by design; nothing else may be.
        warnings = [line for line in warnings if "C accelerator NOT built" not in line]
    assert warnings == []


def _core_wheel_from_sdist(dists: Dists, out: Path, **env: str) -> tuple[str, Artifact]:
    """synchronaut-core's wheel built into ``out`` from its sdist with ``env`` set: the
    build's whole output and the wheel."""
    sdist = built(dists.out, "synchronaut-core", "sdist")
    output = uv_build(
        "--wheel",
        "--out-dir",
        str(out),
        str(sdist.path),
        cwd=out.parent,
        env={**env, "TMPDIR": str(dists.tmp)},
    )
    return output, built(out, "synchronaut-core", "wheel")


def test_core_pure_wheel_from_the_sdist_reports_not_accelerated(
    dists: Dists, tmp_path: Path
) -> None:
    output, wheel = _core_wheel_from_sdist(dists, tmp_path / "pure", SYNCHRONAUT_NO_EXTENSIONS="1")
    assert "C accelerator NOT built (disabled at build time by SYNCHRONAUT_NO_EXTENSIONS)" in output
    assert wheel.tag == "py3-none-any"
    assert [n for n in wheel.names() if n.endswith((".so", ".pyd"))] == []
    assert _speedups_record(wheel)["built"] is False
    # Imported without the switch: nothing to load, the pure path runs.
    reported = _import_report(
        [wheel],
        tmp_path,
        "import synchronaut_core as c\n"
        "async def double(x):\n    return 2 * x\n"
        "print(c.ACCELERATED, c.call_any(double, 21))\n"
        "c.shutdown()",
    )
    assert reported == "False 42"


@pytest.mark.skipif(sys.platform == "win32", reason="CC is how unix compilers are chosen")
def test_core_sdist_builds_a_pure_wheel_without_a_compiler(dists: Dists, tmp_path: Path) -> None:
    output, wheel = _core_wheel_from_sdist(dists, tmp_path / "nocc", CC="/bin/false")
    # Said in the normal output (no -v), not only in the wheel's record.
    assert "synchronaut-core: C accelerator NOT built (C compiler failed" in output
    assert wheel.tag == "py3-none-any"
    record = _speedups_record(wheel)
    assert record["built"] is False
    assert str(record["reason"]).startswith("C compiler failed")
    assert sorted(p.name for p in dists.tmp.glob("synchronaut-speedups-*")) == []


@pytest.mark.skipif(not FREE_THREADED, reason="only a free-threaded Python builds this way")
def test_core_wheel_is_pure_on_free_threaded_python(dists: Dists) -> None:
    wheel = built(dists.out, "synchronaut-core", "wheel")
    assert wheel.tag == "py3-none-any"
    assert "free-threaded" in str(_speedups_record(wheel)["reason"])

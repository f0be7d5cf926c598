"""The coverage join against real coverage.py data (no mocks)."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import textwrap
from pathlib import Path

import coverage
import pytest

from pytest_asyncguard import coverage_join
from pytest_asyncguard.awaitless import Analysis, analyse_paths
from pytest_asyncguard.linemonitor import TOOL_IDS, LineMonitor, Lines

#: asyncguard measures with its own sys.monitoring tool (unless COVERAGE_CORE picks coverage's)
OWN_MONITOR = sys.version_info >= (3, 12) and not os.environ.get("COVERAGE_CORE")

MODULE = """
    import asyncio

    async def waits(flag):
        if flag:
            return 1
        x = (
            await asyncio.sleep(0)
        )
        return x

    async def never_called():
        await asyncio.sleep(0)

    async def one_liner(): return 1

    async def uncalled_one_liner(): return 1

    async def no_await():
        return 2
"""


def measured_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / f"{name}.py").write_text(textwrap.dedent(MODULE))
    monkeypatch.syspath_prepend(str(folder))
    return folder


def exercise(name: str) -> None:
    module = importlib.import_module(name)
    asyncio.run(module.waits(True))
    asyncio.run(module.one_liner())
    asyncio.run(module.no_await())


def measure(folder: Path, name: str) -> tuple[coverage_join.Data, coverage_join.Scope, bool]:
    """asyncguard's own measurement around :func:`exercise` of module ``name``."""
    measurement = coverage_join.Measurement([folder])
    measurement.start()
    try:
        exercise(name)
    finally:
        measured = measurement.stop()
    assert measured is not None
    return measured


def runtime(analysis: Analysis) -> dict[str, tuple[bool | None, bool | None]]:
    return {f.qualname.split(".")[-1]: (f.executed, f.await_executed) for f in analysis.functions}


def test_measurement_and_join(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if coverage.Coverage.current() is not None:
        pytest.skip("the outer run is measured; Measurement would read that instead")
    folder = measured_module(tmp_path, monkeypatch, "aj_lines")
    data, scope, owned = measure(folder, "aj_lines")
    assert owned
    analysis = analyse_paths([folder])
    coverage_join.join(analysis, data, scope)
    coverage_join.release(data)
    # On 3.12+ asyncguard measures with its own sys.monitoring tool, which sees
    # functions start; coverage's line data cannot tell a one-line body from its def.
    own = OWN_MONITOR
    assert isinstance(data, Lines) == own
    one_liners = [(True, False), (False, False)] if own else [(None, None), (None, None)]
    assert runtime(analysis) == {
        "waits": (True, False),  # returned before its await
        "never_called": (False, False),
        "one_liner": one_liners[0],
        "uncalled_one_liner": one_liners[1],
        "no_await": (True, False),
    }


@pytest.mark.skipif(not OWN_MONITOR, reason="asyncguard's own monitor: Python 3.12+")
def test_own_monitor_leaves_room_and_falls_back_to_coverage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if coverage.Coverage.current() is not None:
        pytest.skip("the outer run is measured; Measurement would read that instead")
    folder = measured_module(tmp_path, monkeypatch, "aj_tools")
    monitoring = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
    taken = [t for t in TOOL_IDS if monitoring.get_tool(t) is None]
    for tool in taken:  # other tools hold every id asyncguard may use
        monitoring.use_tool_id(tool, "someone else")
    try:
        data, _scope, _owned = measure(folder, "aj_tools")
    finally:
        for tool in taken:
            monitoring.free_tool_id(tool)
    assert not isinstance(data, Lines)  # coverage measured instead
    coverage_join.release(data)
    # and the monitor gives its tool id back when it stops
    monitor = LineMonitor([str(folder)])
    monitor.start()
    tool = next(t for t in TOOL_IDS if monitoring.get_tool(t) == "asyncguard")
    monitor.stop()
    assert monitoring.get_tool(tool) is None


def test_own_data_adds_up_across_xdist_workers(tmp_path: Path) -> None:
    first = Lines({"a.py": {1, 2}}, {"a.py": {1}})
    second = Lines({"a.py": {3}, "b.py": {5}}, {"b.py": {4}})
    for part in (first, second):
        coverage_join.write_part(part, str(tmp_path))
    combined = coverage_join.combine_folder(str(tmp_path))
    assert isinstance(combined, Lines)
    assert combined.measured_files() == ["a.py", "b.py"]
    assert combined.lines("a.py") == [1, 2, 3]
    assert combined.arcs("b.py") == [(-4, 4)]
    assert combined.has_arcs()
    assert combined.lines("c.py") == []


def test_branch_data_tells_one_liners_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if coverage.Coverage.current() is not None:
        pytest.skip("the outer run is measured")
    monkeypatch.delenv("COVERAGE_CORE", raising=False)  # sysmon has no arcs before 3.14
    folder = measured_module(tmp_path, monkeypatch, "aj_arcs")
    cov = coverage.Coverage(data_file=None, source=[str(folder)], branch=True, config_file=False)
    cov.start()
    try:
        exercise("aj_arcs")
        module = importlib.import_module("aj_arcs")
        asyncio.run(module.waits(False))
    finally:
        cov.stop()
    analysis = analyse_paths([folder])
    coverage_join.join(analysis, cov.get_data(), coverage_join.scope_of(cov))
    coverage_join.release(cov.get_data())
    found = runtime(analysis)
    assert found["one_liner"] == (True, False)
    assert found["uncalled_one_liner"] == (False, False)
    assert found["waits"] == (True, True)


def test_files_outside_the_measured_scope_stay_unknown(tmp_path: Path) -> None:
    measured, other = tmp_path / "measured", tmp_path / "other"
    for folder in (measured, other):
        folder.mkdir()
        (folder / "m.py").write_text("async def f():\n    return 1\n")
    cov = coverage.Coverage(data_file=None, source=[str(measured)], config_file=False)
    analysis = analyse_paths([measured, other], root=tmp_path)
    empty = coverage.CoverageData(no_disk=True)
    coverage_join.join(analysis, empty, coverage_join.scope_of(cov))
    coverage_join.release(empty)
    assert {f.path: f.executed for f in analysis.functions} == {
        "measured/m.py": False,
        "other/m.py": None,
    }


def test_scope_by_package_name_and_omit(tmp_path: Path) -> None:
    cov = coverage.Coverage(
        data_file=None, source=["shop"], omit=["*/legacy.py"], config_file=False
    )
    scope = coverage_join.scope_of(cov)
    assert scope(tmp_path / "shop" / "orders.py", "shop.orders")
    assert not scope(tmp_path / "shop" / "legacy.py", "shop.legacy")
    assert not scope(tmp_path / "shopping.py", "shopping")


def test_worker_parts_combine(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    for lines in ([1, 2], [2, 5]):
        part = coverage.CoverageData(no_disk=True)
        part.add_lines({str(source): lines})
        coverage_join.write_part(part, str(tmp_path))
        coverage_join.release(part)
    assert len(list(tmp_path.glob(".coverage.*"))) == 2
    combined = coverage_join.combine_folder(str(tmp_path))
    assert sorted(combined.lines(str(source)) or []) == [1, 2, 5]
    coverage_join.release(combined)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (".coveragerc", "[run]\nsource = shop\n    lib\nsource_pkgs = extra\n"),
        ("setup.cfg", "[coverage:run]\nsource = shop\n    lib\nsource_pkgs = extra\n"),
        ("tox.ini", "[coverage:run]\nsource = shop\n    lib\nsource_pkgs = extra\n"),
        (
            "pyproject.toml",
            '[tool.coverage.run]\nsource = ["shop", "lib"]\nsource_pkgs = ["extra"]\n',
        ),
    ],
)
def test_configured_sources(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    assert coverage_join.configured_sources(tmp_path) == ["shop", "lib", "extra"]


def test_configured_sources_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COVERAGE_RCFILE", raising=False)
    assert coverage_join.configured_sources(tmp_path) == []
    (tmp_path / "setup.cfg").write_text("[metadata]\nname = x\n")
    (tmp_path / "pyproject.toml").write_text("[tool.coverage.report]\nshow_missing = true\n")
    assert coverage_join.configured_sources(tmp_path) == []

"""The plain modules on their own: rules, frames, policy, failure text, guard paths."""

from __future__ import annotations

import asyncio
import io
import os
import select
import subprocess
import threading
from pathlib import Path

import pytest

from pytest_asyncguard import rules
from pytest_asyncguard.failure import ViolationRepr, describe
from pytest_asyncguard.frames import Frame, Locator
from pytest_asyncguard.guard import INSTANT_WAIT, Guard, Recorder
from pytest_asyncguard.policy import Policy, _scope_path
from pytest_asyncguard.results import TestRecord, Violation
from pytest_asyncguard.watchdog import _debug_tracer, _task_stack


def test_harmless_predicates() -> None:
    assert rules._sleep_harmless(0)
    assert rules._sleep_harmless(-1)
    assert not rules._sleep_harmless(0.1)
    assert not rules._sleep_harmless("soon")
    assert rules._select_harmless([], [], [], 0)
    assert not rules._select_harmless([], [], [])
    assert rules._poll_harmless(None, 0)
    assert not rules._poll_harmless(None, 10)
    assert rules._waitpid_harmless(1, os.WNOHANG)
    assert not rules._waitpid_harmless(1, 0)
    assert rules._file_read_harmless(io.StringIO())
    with open(__file__) as f:
        assert not rules._file_read_harmless(f)
    done = subprocess.Popen(["true"])
    done.wait()
    assert rules._popen_wait_harmless(done)
    with open(os.devnull, "w") as null:
        assert rules._or_devnull(lambda *a: False)(null, "x")
    assert rules._std_fd_or(lambda *a: False)(1, b"x")
    assert not rules._std_fd_or(lambda *a: False)(7, b"x")


def test_fixes_prefer_the_library_in_the_stack() -> None:
    requests_frame = Frame("/venv/site-packages/requests/api.py", 1, "get", "requests.api")
    assert "httpx.AsyncClient" in (rules.fix_for(["socket.socket.connect"], [requests_frame]) or "")
    assert rules.fix_for(["time.sleep"], []) == "use await asyncio.sleep()"
    assert rules.fix_for(["no.such.thing"], []) is None


def test_entry_name_maps_private_helpers_to_the_public_api() -> None:
    stack = [Frame("<frozen os>", 1, "_walk", "os"), Frame("/app/x.py", 3, "main", "x")]
    assert rules.entry_name(stack, lambda f: f.module == "x") == "os.walk"
    hidden = [Frame("<frozen os>", 1, "_nothing_public", "os")]
    assert rules.entry_name(hidden, lambda f: False) is None


def test_builtin_allowlist_matches_modules_and_their_children() -> None:
    assert rules.builtin_allowed("zoneinfo._common", "load_data")
    assert rules.builtin_allowed("importlib._bootstrap", "_find_and_load")
    assert not rules.builtin_allowed("importlib._bootstrap", "something_else")
    assert not rules.builtin_allowed("myapp", "init")


def test_locator_falls_back_when_no_user_frame(tmp_path: Path) -> None:
    loc = Locator(str(tmp_path))
    lib = Frame("/x/site-packages/lib/m.py", 4, "f", "lib.m")
    std = Frame(os.__file__, 9, "g", "os")
    assert loc.user_frame([std, lib]) == lib
    assert loc.user_frame([std]) == std
    assert loc.user_frame([]) is None
    assert loc.where(None) == "<unknown>:0"
    outside = Frame("/elsewhere/app.py", 2, "h", "app")
    assert loc.user_frame([outside]) == outside
    assert loc.relpath("/elsewhere/app.py") == "/elsewhere/app.py"


def test_scope_entries_as_folders_files_and_packages(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    assert _scope_path("pkg", str(tmp_path)) == str(tmp_path / "pkg")
    assert _scope_path(str(tmp_path / "pkg"), "/") == str(tmp_path / "pkg")
    assert _scope_path("pytest_asyncguard", str(tmp_path)).endswith("pytest_asyncguard")
    assert _scope_path("json.decoder", str(tmp_path)).endswith("decoder.py")
    assert _scope_path("no_such_pkg_xyz", str(tmp_path)) == str(tmp_path / "no_such_pkg_xyz")


def test_allow_in_by_path_and_function(tmp_path: Path) -> None:
    policy = Policy(Locator(str(tmp_path)), [], allow_in=["sdk/client.py:Client.call"])
    frame = Frame("/v/sdk/client.py", 3, "Client.call", "sdk.client")
    assert policy._allowed_in([frame]) == "asyncguard_allow_in: sdk/client.py:Client.call"
    assert policy._allowed_in([frame._replace(function="Client.other")]) is None


def test_describe_and_repr_of_a_failure() -> None:
    v = Violation(
        "blocking-call",
        "time.sleep",
        "a.py:3",
        duration=0.25,
        count=2,
        allowed=True,
        allowed_by="asyncguard_allow: time.sleep",
        baselined=True,
        message="asyncguard: blocking call to time.sleep() at a.py:3",
        also=["os.stat"],
    )
    text = "\n".join(describe(v))
    assert "2 times, 0.250 s, allowed by asyncguard_allow: time.sleep, baselined" in text
    assert "also os.stat()" in text
    rendered = str(ViolationRepr([v], original="AssertionError: boom"))
    assert rendered.startswith("asyncguard: blocking call")
    assert rendered.endswith("boom")

    class Writer:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def line(self, s: str = "", **_k: bool) -> None:
            self.lines.append(s)

    writer = Writer()
    ViolationRepr([v, v], original="plain text").toterminal(writer)
    assert writer.lines[-1] == "plain text"


def test_record_merges_one_call_site() -> None:
    rec = TestRecord("t")
    first = Violation("blocking-call", "json.dump", "a.py:3", via="io.TextIOWrapper.write")
    rec.add(first)
    rec.add(
        Violation(
            "blocking-call", "json.dump", "a.py:3", via="io.TextIOWrapper.write", duration=0.5
        )
    )
    rec.add(Violation("blocking-call", "builtins.open", "a.py:3"))
    assert len(rec.violations) == 1
    assert first.count == 2
    assert first.also == ["builtins.open"]
    assert first.duration == 0.5
    assert rec.failing == [first]


def test_lock_waits_non_blocking_and_timeouts_pass_through() -> None:
    recorder = Recorder()
    recorder.context = "t"
    guard = Guard(recorder)
    guard.install()
    try:
        lock = threading.Lock()

        async def main() -> None:
            lock.acquire()
            assert lock.acquire(False) is False
            assert lock.acquire(blocking=True, timeout=0) is False
            assert lock.acquire(True, INSTANT_WAIT / 10) is False  # a short wait: no record
            lock.release()

        asyncio.run(main())
    finally:
        guard.uninstall()
    assert recorder.hits == []


def test_debug_tracer_and_task_stack_fallbacks() -> None:
    assert not _debug_tracer(None)
    assert _debug_tracer(lambda *a: None)

    class Handle:
        def _callback(self) -> None:
            pass

    assert next(f.function for f in _task_stack(Handle())).endswith("_callback")
    assert _task_stack(object()) == []


def test_select_poll_rule_exists_on_linux() -> None:
    names = {r.name for r in rules.catalogue()}
    assert {"time.sleep", "builtins.open", "socket.getaddrinfo", "threading.RLock.acquire"} <= names
    if hasattr(select, "poll"):
        assert "select.poll.poll" in names


def test_forked_child_records_nothing() -> None:
    if not hasattr(os, "fork"):
        pytest.skip("no fork here")
    recorder = Recorder()
    guard = Guard(recorder)
    guard.install()
    try:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.write(write, b"1" if recorder.enabled else b"0")
            os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(read, 1) == b"0"
        os.close(read)
        os.close(write)
    finally:
        guard.uninstall()
    assert recorder.enabled

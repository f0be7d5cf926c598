"""What the guard must not flag: worker threads, sync code, imports, pytest's machinery."""

from __future__ import annotations

import pytest


def test_worker_threads_sync_code_and_pytest_machinery_pass(ag: pytest.Pytester) -> None:
    ag.makepyfile(
        helper_mod="""
        import time
        VALUE = 1
        """
    )
    ag.makepyfile(
        test_it="""
        import asyncio, concurrent.futures, logging, os, sqlite3, subprocess, threading
        import time, warnings, pytest, pytest_asyncio

        @pytest.fixture
        def sync_db(tmp_path):
            conn = sqlite3.connect(tmp_path / "s.db")
            conn.execute("create table t (x)")
            yield conn
            conn.close()

        def test_sync_test_blocks_freely(tmp_path):
            time.sleep(0.001)
            (tmp_path / "f").write_text("x")
            asyncio.run(asyncio.sleep(0))

        @pytest.mark.asyncio
        async def test_to_thread_and_executors(tmp_path):
            await asyncio.to_thread(time.sleep, 0.001)
            await asyncio.to_thread(subprocess.run, ["true"])
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, os.listdir, tmp_path)
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                await loop.run_in_executor(pool, time.sleep, 0.02)
            t = threading.Thread(target=time.sleep, args=(0.001,))
            t.start()
            await asyncio.to_thread(t.join)
            await loop.getaddrinfo("localhost", 80)

        @pytest.mark.asyncio
        async def test_sync_fixture_io(sync_db, tmp_path):
            await asyncio.sleep(0)

        @pytest.mark.asyncio
        async def test_import_inside_loop():
            import helper_mod
            import json.tool
            assert helper_mod.VALUE == 1

        @pytest.mark.asyncio
        async def test_capsys_caplog(capsys, caplog):
            print("hello")
            logging.getLogger("x").warning("logged")
            assert "hello" in capsys.readouterr().out
            assert "logged" in caplog.text

        @pytest.mark.asyncio
        async def test_capfd(capfd):
            print("hello")
            os.write(1, b"fd\\n")
            assert "fd" in capfd.readouterr().out

        @pytest.mark.asyncio
        async def test_logging_into_pytest_capture():
            logging.getLogger("app").error("into pytest's capture handler")
            print("stdout is captured too")

        @pytest.mark.asyncio
        async def test_warnings_and_assertion_rewriting():
            with pytest.warns(UserWarning):
                warnings.warn("deprecated", UserWarning)
            assert [1, 2] == [1, 2]

        @pytest.mark.asyncio
        async def test_uncontended_sync_primitives():
            lock = threading.Lock()
            with lock:
                pass
            lock.acquire()
            lock.release()
            ev = threading.Event()
            ev.set()
            ev.wait(1)
            threading.RLock().acquire()

        @pytest_asyncio.fixture
        async def tmp_file(tmp_path):
            return tmp_path / "x"

        @pytest.mark.asyncio
        async def test_tmp_path_in_async_fixture(tmp_file, tmp_path_factory):
            assert tmp_file.name == "x"

        @pytest.mark.asyncio
        async def test_stdlib_lazy_init():
            import mimetypes, linecache
            mimetypes.init()
            assert mimetypes.guess_type("a.json")[0] == "application/json"
            linecache.checkcache()
            assert linecache.getline(__file__, 1)

        @pytest.mark.asyncio
        async def test_subprocess_through_asyncio():
            proc = await asyncio.create_subprocess_exec("true")
            assert await proc.wait() == 0
        """
    )
    # a subprocess: nothing an earlier in-process run left behind can reach it
    result = ag.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=12)


def test_builtin_allowlist_can_be_switched_off(ag: pytest.Pytester) -> None:
    ag.makeini(
        """
        [pytest]
        asyncio_mode = strict
        asyncio_default_fixture_loop_scope = function
        asyncguard_builtin_allow = false
        """
    )
    ag.makepyfile(
        test_it="""
        import mimetypes, pytest

        @pytest.mark.asyncio
        async def test_mimetypes():
            mimetypes.init()
        """
    )
    result = ag.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["asyncguard: blocking call to * at test_it.py:5 *"])


def test_scope_limits_to_code_under_test(ag: pytest.Pytester) -> None:
    ag.makeini(
        """
        [pytest]
        asyncio_mode = strict
        asyncio_default_fixture_loop_scope = function
        asyncguard_scope = app
        """
    )
    ag.mkpydir("app")
    ag.makepyfile(
        **{
            "app/service": """
            import time

            async def handler():
                time.sleep(0.001)
            """
        }
    )
    ag.makepyfile(
        test_it="""
        import os, pytest
        from app.service import handler

        @pytest.mark.asyncio
        async def test_own_io_is_out_of_scope(tmp_path):
            os.listdir(tmp_path)

        @pytest.mark.asyncio
        async def test_code_under_test():
            await handler()
        """
    )
    result = ag.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["asyncguard: blocking call to time.sleep() at app/service.py:4 *"])

"""asyncguard's own failures never turn a green suite red."""

from __future__ import annotations

import pytest


def test_internal_error_is_reported_not_failed(ag: pytest.Pytester) -> None:
    ag.makeconftest(
        """
        import pytest

        @pytest.hookimpl(trylast=True)
        def pytest_configure(config):
            core = config.pluginmanager.get_plugin("asyncguard-core")

            def broken(*args, **kwargs):
                raise RuntimeError("a bug in asyncguard")

            core.engine.end = broken
        """
    )
    ag.makepyfile(
        test_it="""
        import time, pytest

        @pytest.mark.asyncio
        async def test_a():
            time.sleep(0.001)
        """
    )
    result = ag.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*asyncguard: internal errors (tests unaffected)*",
            "test_it.py::test_a (call): RuntimeError('a bug in asyncguard')",
        ]
    )


@pytest.mark.parametrize(
    ("target", "message", "outcome"),
    [
        # at session start: no detector runs
        ("hygiene.install", "detectors not started: OSError('cannot patch here')", "passed"),
        # when the first event loop starts, inside the test: the others run on
        (
            "guard.install",
            "blocking-call detector not started: OSError('cannot patch here')",
            "passed",
        ),
        (
            "watchdog.install",
            "loop-stall detector not started: OSError('cannot patch here')",
            "failed",
        ),
    ],
)
def test_a_detector_that_cannot_start_fails_no_test_itself(
    ag: pytest.Pytester, target: str, message: str, outcome: str
) -> None:
    ag.makeconftest(
        f"""
        import pytest

        @pytest.hookimpl(trylast=True)
        def pytest_configure(config):
            core = config.pluginmanager.get_plugin("asyncguard-core")

            def broken(**_options):
                raise OSError("cannot patch here")

            core.engine.{target} = broken
        """
    )
    ag.makepyfile(
        test_it="""
        import time, pytest

        @pytest.mark.asyncio
        async def test_a():
            time.sleep(0.001)  # the guard's, when it runs
        """
    )
    result = ag.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(**{outcome: 1})
    result.stdout.fnmatch_lines([f"*{message}*"])

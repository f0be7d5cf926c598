"""The outer test run collects the documentation's examples (``docs/examples``).

``docs/example`` is the demo project: its tests fail under asyncguard on purpose
and need their own ``pytest.ini``. ``docs/examples/test_example_project.py`` runs
it in a subprocess instead.
"""

from __future__ import annotations

import pytest

from pytest_asyncguard.markers import MARKERS

collect_ignore = ["example"]


def pytest_configure(config: pytest.Config) -> None:
    # The outer run switches asyncguard off (-p no:asyncguard), but the examples
    # still carry its markers: register them so that they are not unknown.
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    config.addinivalue_line("markers", "no_leaks: pyleak's marker (migration example)")

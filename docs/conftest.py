"""The outer test run collects the documentation's examples (``docs/examples``).

``docs/example`` is the demo project: its tests fail under asyncguard on purpose
and need their own ``pytest.ini``. ``docs/examples/test_example_project.py`` runs
it in a subprocess instead.
"""

collect_ignore = ["example"]

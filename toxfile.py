"""tox plugin: let tox (and uv) find pyenv-installed interpreters.

The matrix needs python3.10 ... python3.13. Where pyenv installed them without
making them global, its shims answer "command not found"; adding every
installed 3.x version after the selected ones in PYENV_VERSION for tox's
process makes the shims resolve. Where pyenv is absent, nothing changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

from tox.plugin import impl


def _pyenv_versions() -> list[str]:
    """The selected pyenv versions first, then every other installed 3.x."""
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return []
    run = subprocess.run
    listed = run([pyenv, "versions", "--bare"], capture_output=True, text=True, check=False)
    current = os.environ.get("PYENV_VERSION") or run(
        [pyenv, "version-name"], capture_output=True, text=True, check=False
    ).stdout.strip()
    first = [v for v in current.split(":") if v]
    others = sorted((v for v in listed.stdout.split() if v.startswith("3.")), reverse=True)
    return first + [v for v in others if v not in first]


@impl
def tox_add_core_config(core_conf: Any, state: Any) -> None:
    versions = _pyenv_versions()
    if versions:
        os.environ["PYENV_VERSION"] = ":".join(versions)

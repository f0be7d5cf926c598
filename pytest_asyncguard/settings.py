"""Command-line options and ini keys, resolved once into a frozen :class:`Settings`.

Precedence: command line, then ini, then the default. Every setting has one help
string shared by its flag and its ini key. Bad values raise ``pytest.UsageError``
naming the setting, where the value came from, and the valid choices.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import pytest

from pytest_asyncguard.results import KINDS

MODES = ("strict", "warn", "off")
MEASURE = ("auto", "always", "never")
DEFAULT_STALL_THRESHOLD = 0.1

_HELP = {
    "mode": "strict: a violation fails the test; warn: report it and keep the outcome; "
    "off: patch and watch nothing. Default: strict.",
    "stall_threshold": "seconds the event loop may be held by one callback before it is a "
    "loop stall. Default: 0.1.",
    "allow": "blocking-call names allowed everywhere, fnmatch patterns over the reported "
    "names (os.stat, sqlite3.*), one per line.",
    "allow_in": "callers allowed to block, one per line: a module glob (legacy_sdk.*) or "
    "path/suffix.py:function; a call is allowed when any frame of its stack matches.",
    "scope": "when set, only blocking calls with a frame in these packages or folders "
    "count (the code under test, not the tests' own I/O). Default: all code.",
    "checks": "the violation kinds enforced, one per line, from: " + ", ".join(KINDS) + ". "
    "Default: all.",
    "source": "packages or folders whose async defs the async-without-await report covers "
    "(default: coverage's [run] source).",
    "fail_under": "fail the run when the async-without-await score is below this percent.",
    "allow_no_await": "qualname globs of async functions accepted without await "
    "(handlers a framework or protocol requires to be async), one per line.",
    "requirements": "declared requirements, one per line: 'ID: title'.",
    "measure": "coverage measurement for the async-without-await report when neither "
    "pytest-cov nor 'coverage run' provides data. auto: only where it is cheap (Python "
    "3.12+, sys.monitoring); always: also on Python 3.10 and 3.11, where a trace "
    "function slows the whole run (often 1.5-2x); never. Default: auto.",
    "json": "write the JSON report to this path.",
    "md": "write the Markdown report (fits a CI job summary) to this path.",
    "baseline": "violations recorded in this file are reported as baselined and do not fail.",
    "update_baseline": "write this run's violations to the baseline file.",
    "builtin_allow": "use the built-in allowlist of one-time standard-library lazy "
    "initialisation (mimetypes.init, linecache, ...). Default: true.",
}


class Settings(NamedTuple):
    """Every asyncguard setting, resolved and validated.

    A NamedTuple, not a dataclass: every pytest run imports this, and a
    dataclass compiles its methods again at each import.
    """

    mode: str = "strict"
    stall_threshold: float = DEFAULT_STALL_THRESHOLD
    allow: tuple[str, ...] = ()
    allow_in: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()
    checks: frozenset[str] = frozenset(KINDS)
    source: tuple[str, ...] = ()
    fail_under: float | None = None
    allow_no_await: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    json: str | None = None
    md: str | None = None
    baseline: str | None = None
    update_baseline: bool = False
    builtin_allow: bool = True
    measure: str = "auto"

    @property
    def active(self) -> bool:
        return self.mode != "off"

    def to_dict(self) -> dict[str, Any]:
        """The settings as the JSON report shows them."""
        return {
            "mode": self.mode,
            "stall_threshold": self.stall_threshold,
            "allow": list(self.allow),
            "allow_in": list(self.allow_in),
            "scope": list(self.scope),
            "checks": [k for k in KINDS if k in self.checks],
            "source": list(self.source),
            "fail_under": self.fail_under,
            "baseline": self.baseline,
        }


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("asyncguard", "asyncguard: async hygiene")
    group.addoption("--asyncguard-mode", choices=MODES, default=None, help=_HELP["mode"])
    group.addoption(
        "--asyncguard-stall-threshold",
        default=None,
        metavar="SECONDS",
        help=_HELP["stall_threshold"],
    )
    group.addoption(
        "--asyncguard-source",
        action="append",
        default=None,
        metavar="PATH",
        help=_HELP["source"] + " Repeatable.",
    )
    group.addoption(
        "--asyncguard-fail-under", default=None, metavar="PERCENT", help=_HELP["fail_under"]
    )
    group.addoption("--asyncguard-measure", choices=MEASURE, default=None, help=_HELP["measure"])
    group.addoption("--asyncguard-json", default=None, metavar="PATH", help=_HELP["json"])
    group.addoption("--asyncguard-md", default=None, metavar="PATH", help=_HELP["md"])
    group.addoption("--asyncguard-baseline", default=None, metavar="PATH", help=_HELP["baseline"])
    group.addoption(
        "--asyncguard-update-baseline",
        action="store_true",
        default=None,
        help=_HELP["update_baseline"],
    )
    parser.addini("asyncguard_mode", _HELP["mode"], default=None)
    parser.addini("asyncguard_stall_threshold", _HELP["stall_threshold"], default=None)
    for key in ("allow", "allow_in", "scope", "checks", "source", "allow_no_await", "requirements"):
        parser.addini(f"asyncguard_{key}", _HELP[key], type="linelist", default=[])
    parser.addini("asyncguard_fail_under", _HELP["fail_under"], default=None)
    parser.addini("asyncguard_measure", _HELP["measure"], default=None)
    parser.addini("asyncguard_json", _HELP["json"], default=None)
    parser.addini("asyncguard_md", _HELP["md"], default=None)
    parser.addini("asyncguard_baseline", _HELP["baseline"], default=None)
    parser.addini("asyncguard_builtin_allow", _HELP["builtin_allow"], type="bool", default=True)


def _pick(config: pytest.Config, opt: str, ini: str) -> tuple[Any, str]:
    """The value of a setting and where it came from (for error messages)."""
    value = config.getoption(opt)
    if value is not None:
        return value, "--" + opt.replace("_", "-")
    value = config.getini(ini)
    if value not in (None, "", []):
        return value, f"ini key {ini}"
    return None, ""


def parse_seconds(value: Any, where: str) -> float:
    """A positive, finite number of seconds, or a UsageError naming ``where``."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise pytest.UsageError(
            f"asyncguard: {where} must be a positive number of seconds, got {value!r}"
        )
    return seconds


def parse_checks(values: list[str], where: str) -> frozenset[str]:
    unknown = [v for v in values if v not in KINDS]
    if unknown:
        raise pytest.UsageError(
            f"asyncguard: {where} has unknown kind(s) {', '.join(map(repr, unknown))}; "
            f"valid kinds: {', '.join(KINDS)}"
        )
    return frozenset(values) if values else frozenset(KINDS)


def _allow_in_entry(entry: str, where: str) -> str:
    if ":" in entry:
        path, func = entry.rsplit(":", 1)
        if not path or not func:
            raise pytest.UsageError(
                f"asyncguard: {where} entry {entry!r} must be a module glob "
                "(legacy_sdk.*) or path/suffix.py:function"
            )
    return entry


def _choice(config: pytest.Config, key: str, choices: tuple[str, ...], noun: str) -> str:
    """One of ``choices`` (the first is the default), or a UsageError listing them."""
    value, where = _pick(config, key, key)
    value = (value or choices[0]).strip()
    if value not in choices:
        raise pytest.UsageError(
            f"asyncguard: {where} got {value!r}; valid {noun}: {', '.join(choices)}"
        )
    return str(value)


def resolve(config: pytest.Config) -> Settings:
    """Read every option and ini key once; raise UsageError on bad values."""
    mode = _choice(config, "asyncguard_mode", MODES, "modes")
    raw, where = _pick(config, "asyncguard_stall_threshold", "asyncguard_stall_threshold")
    threshold = DEFAULT_STALL_THRESHOLD if raw is None else parse_seconds(raw, where)
    measure = _choice(config, "asyncguard_measure", MEASURE, "values")

    raw, where = _pick(config, "asyncguard_fail_under", "asyncguard_fail_under")
    fail_under: float | None = None
    if raw is not None:
        try:
            fail_under = float(raw)
        except ValueError:
            fail_under = math.nan
        if not 0 <= fail_under <= 100:
            raise pytest.UsageError(
                f"asyncguard: {where} must be a percentage from 0 to 100, got {raw!r}"
            )

    source = config.getoption("asyncguard_source") or config.getini("asyncguard_source")
    checks = parse_checks(config.getini("asyncguard_checks"), "ini key asyncguard_checks")
    allow_in = tuple(
        _allow_in_entry(e, "ini key asyncguard_allow_in")
        for e in config.getini("asyncguard_allow_in")
    )

    def path(opt: str) -> str | None:
        value, _ = _pick(config, opt, opt)
        return str(value) if value else None

    return Settings(
        mode=mode,
        stall_threshold=threshold,
        allow=tuple(config.getini("asyncguard_allow")),
        allow_in=allow_in,
        scope=tuple(config.getini("asyncguard_scope")),
        checks=checks,
        source=tuple(source),
        fail_under=fail_under,
        allow_no_await=tuple(config.getini("asyncguard_allow_no_await")),
        requirements=tuple(config.getini("asyncguard_requirements")),
        json=path("asyncguard_json"),
        md=path("asyncguard_md"),
        baseline=path("asyncguard_baseline"),
        update_baseline=bool(config.getoption("asyncguard_update_baseline")),
        builtin_allow=bool(config.getini("asyncguard_builtin_allow")),
        measure=measure,
    )

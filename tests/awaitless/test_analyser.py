"""Unit tests of the static analysis (pytest_asyncguard.awaitless)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pytest_asyncguard.awaitless import (
    ALLOWED_REASONS,
    MARKER,
    Analysis,
    AsyncFunction,
    analyse_paths,
    module_name,
)


def analyse(tmp_path: Path, source: str, allow: tuple[str, ...] = ()) -> dict[str, AsyncFunction]:
    pkg = tmp_path / "pkg"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text(textwrap.dedent(source))
    result = analyse_paths([pkg], allow_no_await=allow, root=tmp_path)
    return {f.qualname.removeprefix("pkg.mod."): f for f in result.functions}


def reasons(tmp_path: Path, source: str, allow: tuple[str, ...] = ()) -> dict[str, str | None]:
    return {name: f.allowed for name, f in analyse(tmp_path, source, allow).items()}


@pytest.mark.parametrize(
    "body",
    [
        "await x",
        "return await x",
        "async for a in b:\n        pass",
        "async with a:\n        pass",
        "async with a as b, c as d:\n        pass",
        "return [a async for a in b]",
        "return {a: 1 async for a in b}",
        "return (a async for a in b)",
        "return [await a for a in b]",
        "if cond:\n        x = (\n            await f()\n        )",
        "while await cond():\n        pass",
        "try:\n        pass\n    finally:\n        await close()",
        "match x:\n        case 1:\n            await f()",
        "@deco(await make())\n    def inner():\n        pass",
    ],
)
def test_own_body_awaits(tmp_path: Path, body: str) -> None:
    functions = analyse(tmp_path, f"async def f():\n    {body}\n")
    assert functions["f"].has_await
    assert functions["f"].allowed is None


@pytest.mark.parametrize(
    "body",
    [
        "async def inner():\n        await x",
        "def inner():\n        return (a async for a in b)",
        "class Inner:\n        async def m(self):\n            await x",
        "return lambda: 1",
        "return x",
    ],
)
def test_nested_scopes_do_not_count(tmp_path: Path, body: str) -> None:
    assert not analyse(tmp_path, f"async def f():\n    {body}\n")["f"].has_await


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_await_spans_found_by_line_with_any_newline(tmp_path: Path, newline: str) -> None:
    """Statements are passed over when none of their lines says async or await:
    the lines must be counted as the parser counts them, and words in strings
    and comments are only candidates."""
    source = textwrap.dedent(
        """\
        import asyncio
        async def words_only():
            # we await nothing here
            return "await me"
        async def later():
            x = 1

            if x:
                y = (
                    await asyncio.sleep(0)
                )
            return y
        class C:
            @staticmethod
            async def m():
                pass
        """
    )
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_bytes(source.replace("\n", newline).encode())
    found = {f.qualname: f for f in analyse_paths([pkg], root=tmp_path).functions}
    assert set(found) == {"pkg.mod.words_only", "pkg.mod.later", "pkg.mod.C.m"}
    assert not found["pkg.mod.words_only"].has_await
    assert found["pkg.mod.later"].has_await
    assert found["pkg.mod.later"].await_spans == ((9, 11),)


def test_qualnames_methods_and_nested(tmp_path: Path) -> None:
    functions = analyse(
        tmp_path,
        """
        class Outer:
            class Inner:
                async def method(self):
                    await x

        async def outer():
            async def inner():
                await x
            return inner

        if True:
            async def conditional():
                await x
        """,
    )
    assert set(functions) == {"Outer.Inner.method", "outer", "outer.inner", "conditional"}
    assert functions["outer.inner"].line == 8
    assert functions["outer.inner"].path == "pkg/mod.py"


def test_module_name_walks_up_packages(tmp_path: Path) -> None:
    (tmp_path / "src" / "a" / "b").mkdir(parents=True)
    (tmp_path / "src" / "a" / "__init__.py").write_text("")
    (tmp_path / "src" / "a" / "b" / "__init__.py").write_text("")
    assert module_name(tmp_path / "src" / "a" / "b" / "c.py") == "a.b.c"
    assert module_name(tmp_path / "src" / "a" / "b" / "__init__.py") == "a.b"
    assert module_name(tmp_path / "src" / "loose.py") == "loose"


def test_abstract_overload_protocol(tmp_path: Path) -> None:
    found = reasons(
        tmp_path,
        """
        import abc, typing, typing_extensions
        from abc import abstractmethod
        from typing import Protocol, overload

        class Base(abc.ABC):
            @abc.abstractmethod
            async def a(self): return 1
            @classmethod
            @abstractmethod
            async def b(cls): return 1
            @overload
            async def c(self, x: int) -> int: return 1
            @typing.overload
            async def d(self, x: str) -> str: return 1

        class P1(Protocol):
            async def m(self): return 1
        class P2(typing.Protocol[int]):
            async def m(self): return 1
        class P3(typing_extensions.Protocol):
            async def m(self): return 1
        class Impl(P1):
            async def m(self): return 1
        """,
    )
    assert found == {
        "Base.a": "abstract",
        "Base.b": "abstract",
        "Base.c": "overload",
        "Base.d": "overload",
        "P1.m": "protocol",
        "P2.m": "protocol",
        "P3.m": "protocol",
        "Impl.m": None,
    }


def test_stubs(tmp_path: Path) -> None:
    found = reasons(
        tmp_path,
        '''
        async def dots(): ...
        async def passes():
            pass
        async def doc():
            """Only a docstring."""
        async def raises():
            """Doc."""
            raise NotImplementedError
        async def raises_call():
            raise NotImplementedError("subclass")
        async def real():
            raise ValueError
        ''',
    )
    assert found == {
        "dots": "stub",
        "passes": "stub",
        "doc": "stub",
        "raises": "stub",
        "raises_call": "stub",
        "real": None,
    }


def test_comment_on_def_or_decorator_line(tmp_path: Path) -> None:
    found = reasons(
        tmp_path,
        f"""
        async def on_def():  # {MARKER}
            return 1
        @decorator  # {MARKER}
        @other
        async def on_decorator():
            return 1
        async def on_signature(
            a,
        ):  # {MARKER}
            return 1
        async def in_body():
            return 1  # {MARKER}
        # {MARKER}
        async def above():
            return 1
        async def in_string(a="# {MARKER}"):
            return 1
        """,
    )
    assert found == {
        "on_def": "comment",
        "on_decorator": "comment",
        "on_signature": "comment",
        "in_body": None,
        "above": None,
        "in_string": None,
    }


def test_config_globs(tmp_path: Path) -> None:
    source = """
        class Handler:
            async def on_event(self): return 1
        async def hook(): return 1
        async def other(): return 1
        """
    found = reasons(tmp_path, source, allow=("pkg.mod.Handler.on_*", "*.hook", "nothing.*"))
    assert found == {"Handler.on_event": "config", "hook": "config", "other": None}
    analysis = analyse_paths([tmp_path / "pkg"], ("*.hook", "nothing.*"))
    assert analysis.unused_allow_no_await() == ["nothing.*"]


def test_precedence_follows_allowed_reasons(tmp_path: Path) -> None:
    assert ALLOWED_REASONS == ("overload", "abstract", "protocol", "stub", "comment", "config")
    found = reasons(
        tmp_path,
        f"""
        from typing import Protocol
        from abc import abstractmethod
        class P(Protocol):
            @abstractmethod
            async def both(self): ...
            async def stub(self): ...  # {MARKER}
        async def commented(): ...  # {MARKER}
        async def configured():  # {MARKER}
            return 1
        """,
        allow=("*",),
    )
    assert found == {
        "P.both": "abstract",
        "P.stub": "protocol",
        "commented": "stub",
        "configured": "comment",
    }


def test_allowed_is_none_when_awaiting(tmp_path: Path) -> None:
    found = reasons(
        tmp_path,
        "from abc import abstractmethod\n@abstractmethod\nasync def f(): await x\n",
        allow=("*",),
    )
    assert found == {"f": None}


def test_unparsable_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("async def f(:\n")
    (tmp_path / "latin.py").write_bytes(b"x = '\xff'\n")
    (tmp_path / "good.py").write_text("async def g(): return 1\n")
    analysis = analyse_paths([tmp_path], root=tmp_path)
    assert [f.qualname for f in analysis.functions] == ["good.g"]
    skipped = {s["path"]: s["error"] for s in analysis.to_dict()["skipped"]}
    assert set(skipped) == {"bad.py", "latin.py"}
    assert skipped["bad.py"].startswith("SyntaxError")


def test_score_and_dict_shape(tmp_path: Path) -> None:
    analyse(tmp_path, "async def a(): await x\nasync def b(): ...\nasync def c(): return 1\n")
    analysis = analyse_paths([tmp_path / "pkg"], root=tmp_path)
    data = analysis.to_dict()
    assert data["score"] == pytest.approx(66.67)
    assert data["functions"][2] == {
        "qualname": "pkg.mod.c",
        "path": "pkg/mod.py",
        "line": 3,
        "has_await": False,
        "allowed": None,
        "executed": None,
        "await_executed": None,
    }
    assert [AsyncFunction.from_dict(f).to_dict() for f in data["functions"]] == data["functions"]
    assert Analysis().score == 100.0


def test_folders_skip_hidden_and_caches(tmp_path: Path) -> None:
    for folder in (".venv", "__pycache__", "kept"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "m.py").write_text("async def f(): return 1\n")
    analysis = analyse_paths([tmp_path, tmp_path / "kept"], root=tmp_path)
    assert [f.path for f in analysis.functions] == ["kept/m.py"]


def test_acceptance_shop(tmp_path: Path) -> None:
    shop = Path(__file__).resolve().parents[3] / "shared" / "acceptance" / "shop"
    if not shop.is_dir():
        pytest.skip("acceptance corpus not present")
    analysis = analyse_paths([shop], root=shop.parent)
    flagged = sorted(f.qualname for f in analysis.flagged)
    assert flagged == [
        "shop.orders.OrderRepository.save",
        "shop.orders.archive",
        "shop.orders.render_invoice",
        "shop.orders.total",
    ]
    allowed = {f.qualname: f.allowed for f in analysis.functions if f.allowed}
    assert allowed == {"shop.orders.Notifier.notify": "protocol"}

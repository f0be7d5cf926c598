"""Generate the synthetic test suites the benchmark runs.

Everything written here is clean: no test blocks its event loop, leaks a task or
leaves a coroutine un-awaited, so every configuration must pass every test. The
layout, under one temporary folder::

    full/                 async and sync tests
        pytest.ini
        conftest.py       a session-scoped work folder
        benchpkg/         the "code under test" (also the --asyncguard-source)
        tests/test_async_NNN.py, tests/test_sync_NNN.py
    synconly/             the same sync tests only, same pytest.ini
    plugins/              bench_blockbuster.py, bench_pyleak.py (loaded through PYTEST_PLUGINS)

Only the standard library is imported here.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

PER_FILE = 20
MODULES = 10

PYTEST_INI = """\
[pytest]
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
pythonpath = .
testpaths = tests
"""

CONFTEST = """\
import shutil
import tempfile

import pytest


@pytest.fixture(scope="session")
def workdir():
    path = tempfile.mkdtemp(prefix="asyncguard-bench-")
    yield path
    shutil.rmtree(path, ignore_errors=True)
"""

# The code under test: every async def awaits, so the async-without-await
# report has work to do but nothing to complain about.
PKG_MODULE = '''\
"""Generated module {n} of the benchmark's code under test."""

import asyncio
import threading

_LOCK = threading.Lock()


async def step(value):
    await asyncio.sleep(0)
    return value + 1


async def chain(depth):
    total = 0
    for _ in range(depth):
        total = await step(total)
    return total


async def work(j):
    await asyncio.sleep(0)
    return j * j


async def produce(queue, count):
    for j in range(count):
        await queue.put(j)
    await queue.put(None)


async def consume(queue):
    seen = []
    while True:
        item = await queue.get()
        queue.task_done()
        if item is None:
            return seen
        seen.append(item)


class Store:
    def __init__(self):
        self.items = {{}}

    async def put(self, key, value):
        await asyncio.sleep(0)
        self.items[key] = value

    async def get(self, key):
        await asyncio.sleep(0)
        return self.items[key]


def write_file(path, data):
    with open(path, "w") as f:
        f.write(data)


def read_file(path):
    with open(path) as f:
        return f.read()


def count_under_lock(times):
    total = 0
    for _ in range(times):
        with _LOCK:
            total += 1
    return total
'''

ASYNC_TESTS = [
    # awaits
    """\
@pytest.mark.asyncio
async def test_await_{f}_{i}():
    assert await m.chain(10) == 10
    store = m.Store()
    await store.put("k", {i})
    assert await store.get("k") == {i}
""",
    # tasks
    """\
@pytest.mark.asyncio
async def test_tasks_{f}_{i}():
    tasks = [asyncio.create_task(m.work(j)) for j in range(8)]
    assert await asyncio.gather(*tasks) == [j * j for j in range(8)]
    assert await asyncio.wait_for(m.chain(3), 5) == 3
""",
    # queues
    """\
@pytest.mark.asyncio
async def test_queue_{f}_{i}():
    queue = asyncio.Queue(maxsize=4)
    producer = asyncio.create_task(m.produce(queue, 20))
    seen = await m.consume(queue)
    await producer
    assert seen == list(range(20))
""",
    # file I/O off the loop
    """\
@pytest.mark.asyncio
async def test_file_{f}_{i}(workdir):
    path = os.path.join(workdir, "a_{f}_{i}.txt")
    data = "x" * 4096
    await asyncio.to_thread(m.write_file, path, data)
    assert await asyncio.to_thread(m.read_file, path) == data
    await asyncio.to_thread(os.remove, path)
""",
]

SYNC_TESTS = [
    # files
    """\
def test_file_{f}_{i}(workdir):
    path = os.path.join(workdir, "s_{f}_{i}.txt")
    m.write_file(path, "y" * 4096)
    assert os.stat(path).st_size == 4096
    assert m.read_file(path) == "y" * 4096
    os.remove(path)
""",
    # locks
    """\
def test_lock_{f}_{i}():
    assert m.count_under_lock(200) == 200
    rlock = threading.RLock()
    with rlock, rlock:
        assert rlock._is_owned()
""",
    # threads and a lock
    """\
def test_threads_{f}_{i}():
    lock = threading.Lock()
    counter = [0]

    def bump():
        for _ in range(100):
            with lock:
                counter[0] += 1

    threads = [threading.Thread(target=bump) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter[0] == 200
""",
    # plain computation with a tmp file listing
    """\
def test_compute_{f}_{i}(workdir):
    path = os.path.join(workdir, "c_{f}_{i}.txt")
    m.write_file(path, "\\n".join(str(j) for j in range(100)))
    assert sum(int(line) for line in m.read_file(path).splitlines()) == 4950
    os.remove(path)
""",
]

ASYNC_HEADER = (
    "import asyncio\nimport os\n\nimport pytest\n\nfrom benchpkg import mod_{mod:02d} as m\n\n\n"
)
SYNC_HEADER = "import os\nimport threading\n\nfrom benchpkg import mod_{mod:02d} as m\n\n\n"

BLOCKBUSTER_PLUGIN = '''\
"""blockbuster as its README suggests: an autouse fixture (loaded with -p, like a conftest)."""

import pytest
from blockbuster import blockbuster_ctx


@pytest.fixture(autouse=True)
def blockbuster():
    with blockbuster_ctx() as bb:
        yield bb
'''

PYLEAK_PLUGIN = '''\
"""pyleak's no_leaks marker on every async test, event-loop blocking detection only."""

import inspect

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "no_leaks(*what, **options): pyleak leak detection")


def pytest_collection_modifyitems(items):
    for item in items:
        if inspect.iscoroutinefunction(getattr(item, "function", None)):
            item.add_marker(pytest.mark.no_leaks(blocking=True, tasks=False, threads=False))
'''


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _tests(folder: Path, kind: str, count: int, templates: list[str], header: str) -> None:
    files = (count + PER_FILE - 1) // PER_FILE
    made = 0
    for f in range(files):
        body = [header.format(mod=f % MODULES)]
        for i in range(min(PER_FILE, count - made)):
            body.append(templates[(f + i) % len(templates)].format(f=f, i=i))
            body.append("\n\n")
            made += 1
        _write(folder / "tests" / f"test_{kind}_{f:04d}.py", "".join(body).rstrip() + "\n")


def _project(folder: Path, async_tests: int, sync_tests: int) -> Path:
    _write(folder / "pytest.ini", PYTEST_INI)
    _write(folder / "conftest.py", CONFTEST)
    _write(folder / "benchpkg" / "__init__.py", "")
    for n in range(MODULES):
        _write(folder / "benchpkg" / f"mod_{n:02d}.py", PKG_MODULE.format(n=n))
    if async_tests:
        _tests(folder, "async", async_tests, ASYNC_TESTS, ASYNC_HEADER)
    if sync_tests:
        _tests(folder, "sync", sync_tests, SYNC_TESTS, SYNC_HEADER)
    return folder


def generate(root: Path, async_tests: int, sync_tests: int) -> dict[str, Path]:
    """Write the suites under ``root``; returns their folders and the plugin folder."""
    plugins = root / "plugins"
    _write(plugins / "bench_blockbuster.py", BLOCKBUSTER_PLUGIN)
    _write(plugins / "bench_pyleak.py", PYLEAK_PLUGIN)
    return {
        "full": _project(root / "full", async_tests, sync_tests),
        "synconly": _project(root / "synconly", 0, sync_tests),
        "plugins": plugins,
    }


# -- a source tree for the static analyser --------------------------------------

_ANALYSIS_BLOCK = textwrap.dedent(
    '''\
    class Service{n}:
        """A service with async methods, some awaiting, some not."""

        def __init__(self, client):
            self.client = client
            self.cache = {{}}

        async def fetch(self, key):
            if key in self.cache:
                return self.cache[key]
            value = await self.client.get(key)
            self.cache[key] = value
            return value

        async def fetch_many(self, keys):
            return [await self.fetch(k) for k in keys]

        async def stream(self):
            async for item in self.client.items():
                yield item

        async def close(self):
            self.cache.clear()

        async def handler(self, request):  # asyncguard: allow-no-await
            return request

        def sync_helper(self, values):
            total = 0
            for v in values:
                if v % 2:
                    total += v
                else:
                    total -= v
            return total


    async def task_{n}(session, items):
        async with session.begin():
            for item in items:
                await session.add(item)

        async def inner():
            return len(items)

        return await inner()


    async def pure_{n}(x, y):
        """Does not await: the report flags it."""
        result = x + y
        for i in range(3):
            result *= i + 1
        return result


    def compute_{n}(data):
        out = []
        for row in data:
            out.append({{k: v for k, v in row.items() if v}})
        return out


    '''
)


def analysis_tree(root: Path, lines: int, files: int = 200) -> tuple[Path, int]:
    """A package of about ``lines`` lines of Python; returns its folder and exact line count."""
    pkg = root / "analysed"
    per_file = max(1, lines // files)
    block_lines = _ANALYSIS_BLOCK.count("\n")
    header = '"""Generated for the analyser benchmark."""\n\nimport asyncio\n\n\n'
    total = 0
    _write(pkg / "__init__.py", "")
    for f in range(files):
        sub = pkg / f"sub{f // 20:02d}"
        if not (sub / "__init__.py").exists():
            _write(sub / "__init__.py", "")
        parts = [header]
        count = header.count("\n")
        n = 0
        while count < per_file:
            parts.append(_ANALYSIS_BLOCK.format(n=n))
            count += block_lines
            n += 1
        _write(sub / f"mod_{f:03d}.py", "".join(parts))
        total += count
    return pkg, total

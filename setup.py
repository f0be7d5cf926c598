"""The one thing pyproject.toml cannot say with a stable setuptools key: the C extension.

``pytest_asyncguard/_gate.c`` is the guard's fast path. It is optional: where it
cannot be compiled (no C compiler, another interpreter), the install goes on and
the guard uses its Python wrappers, which do the same work more slowly.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("pytest_asyncguard._gate", ["pytest_asyncguard/_gate.c"], optional=True)
    ]
)

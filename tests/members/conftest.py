"""Keeps ``serialized_rollback`` working after a browser test (see ``_restore``).

This belongs in tests/conftest.py, for every app's tests; it is here until it is moved.
"""

import pytest

_saved: dict[str, str] = {}


def _restore() -> None:
    """Once Playwright's event loop runs in the test thread, asgiref hands out new Django
    connection objects there (per context rather than per thread). They lack the serialized
    test database that ``serialized_rollback`` restores from, so roles and disciplines
    (migration data) would vanish from later transactional tests; give it back to them.
    """
    from django.db import connections

    for alias in connections:
        connection = connections[alias]
        contents = getattr(connection, "_test_serialized_contents", None)
        if contents is not None:
            _saved[alias] = contents
        elif alias in _saved:
            connection._test_serialized_contents = _saved[alias]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    _restore()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem) -> None:
    _restore()

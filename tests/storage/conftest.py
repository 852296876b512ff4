"""The storage tests' database: opened once on each backend (tests/conftest.py's
``database_target``), closed after the test."""

from __future__ import annotations

import pytest

from storage.backends import open_database


@pytest.fixture
def db(database_target):
    database = open_database(database_target)
    yield database
    database.close()

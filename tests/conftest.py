from __future__ import annotations

import pytest

import semigraph
from tests.datasets import small_tables, write_dataset


@pytest.fixture
def small_path(tmp_path):
    return write_dataset(tmp_path / "small", small_tables())


@pytest.fixture
def small(small_path):
    return semigraph.load(small_path)

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest

import semigraph

# the validation cache of the test run lives in a fresh folder, never in the user's home,
# and goes when the run ends
if "SEMIGRAPH_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="semigraph-test-cache-")
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)
    os.environ["SEMIGRAPH_CACHE_DIR"] = _cache
from tests.datasets import small_tables, write_dataset


@pytest.fixture
def run():
    """The command line: ``run("whatif", "--cut", "CHN")``, arguments as text, exceptions
    raised (a test module may define its own ``run``)."""
    from click.testing import CliRunner

    from semigraph.cli import cli

    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture
def small_path(tmp_path):
    return write_dataset(tmp_path / "small", small_tables())


@pytest.fixture
def small(small_path):
    return semigraph.load(small_path)


@pytest.fixture(scope="session")
def bundled():
    """The bundled dataset, loaded once for the whole run (tests only read it)."""
    return semigraph.load()

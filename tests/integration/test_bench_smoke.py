"""``make bench`` in its smoke mode (tiny sizes): it runs every row and prints its table.
Nothing here is about speed: the figures of a smoke run mean nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def test_the_bench_runs_in_smoke_mode_and_prints_its_table() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--reps", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table = result.stdout
    assert "| row |" in table
    assert "load average" in table
    rows = ("append (a)", "relay (b)", "consumer live (c)", "rebuild (c)", "(d)", "(e)")
    services = ("rebuild checkin.projections (c)", "rebuild cases.projections (c)")
    for row in (*rows, "ticket → case visible p99 (c)", *services):
        assert row in table, table

"""The benchmark scripts start: they import what they share (bench/search.py's helpers, the test
servers) and parse their arguments. Running them takes minutes and a quiet machine; see bench/."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("script", sorted(path.name for path in (REPO / "bench").glob("*.py")))
def test_it_starts_and_says_how_to_run_it(script):
    done = subprocess.run(
        [sys.executable, f"bench/{script}", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: ")

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


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--before", "no-such-commit-anywhere"], "--before no-such-commit-anywhere: not a commit"),
        (["--before", "HEAD", "--after", "0" * 40], "not a commit of this repository"),
        (["--before", "HEAD", "--rounds", "0"], "--rounds 1..1000"),
        (["--before", "HEAD", "--worker-class", "eventlet"], "invalid choice: 'eventlet'"),
        ([], "the following arguments are required: --before"),
    ],
)
def test_compare_refuses_bad_arguments_with_a_usage_error(arguments, message):
    done = subprocess.run(
        [sys.executable, "bench/compare.py", *arguments], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert message in done.stderr

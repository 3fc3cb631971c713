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


def test_transfer_folder_mode_runs_end_to_end_on_a_tiny_folder():
    """bench/transfer.py --folder against a real gunicorn with the maisie client, MLflow skipped:
    the folder goes up and down, again under another name without a file byte, and resumes."""
    done = subprocess.run(
        [
            sys.executable,
            "bench/transfer.py",
            "--folder",
            "--folder-gib",
            "0.01",
            "--folder-small-mib",
            "0",
            "--runs",
            "1",
            "--skip-mlflow",
            "--maisie-python",
            sys.executable,
            "--client-python",
            sys.executable,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Folders (5 files): median of 1 run(s)" in done.stdout
    assert "cp -r+fsync" in done.stdout
    assert "dedupe: 0 file bytes" in done.stdout
    assert "resume: `mai models upload`" in done.stdout
    assert "Maisie client peak RSS" in done.stdout

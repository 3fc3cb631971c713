"""Nested keys through the package and the CLI, against the live server: queries, orderings and the
old key filter take paths (`hp.optimizer.lr`) as they are, and `models ls -c` shows a nested value."""

import uuid

import pytest
from maisie import Models

from tests.conftest import run_cli


@pytest.fixture
def nested(signed_in, isolated):
    """Three models of a run of this test, told apart by a prefix no other test uses."""
    prefix = f"nested-{uuid.uuid4().hex[:8]}"
    (isolated / "tiny.pt").write_bytes(b"w")
    models = Models(signed_in.settings)
    for name, lr, acc in (("a", 0.01, 0.9), ("b", 0.0001, 0.6), ("c", 0.1, 0.8)):
        models.upload(
            f"{prefix}-{name}",
            isolated / "tiny.pt",
            hyperparameters={"optimizer": {"lr": lr, "name": "adam"}},
            metrics={"val/acc": acc, "train-loss": 1 - acc},
            git=False,
            progress=False,
        )
    return prefix


def test_the_package_passes_nested_keys_through_unchanged(signed_in, nested):
    models = Models(signed_in.settings)
    found = models.get_all(
        query=f'name like "{nested}-%" and hp.optimizer.lr > 0.001 and m.train-loss < 0.5',
        ordering="-hp.optimizer.lr",
    )
    assert [m["name"] for m in found] == [f"{nested}-c", f"{nested}-a"]
    by_acc = models.get_all(query=f'name like "{nested}-%"', ordering="m.val/acc")
    assert [m["name"][-1] for m in by_acc] == ["b", "c", "a"]
    with_key = models.get_all(search=nested, hyperparam="optimizer.lr", per_page=100)
    assert len(with_key) == 3
    assert models.get_all(search=nested, hyperparam="`optimizer.lr`") == []


def test_the_cli_queries_orders_and_shows_a_nested_key(signed_in, nested):
    listed = run_cli(
        "models",
        "ls",
        "--query",
        f'name like "{nested}-%" and hp.optimizer.lr >= 0.01',
        "-o",
        "-hp.optimizer.lr",
        "-c",
        "hp.optimizer.lr,m.val/acc",
    )
    assert listed.returncode == 0, listed.stderr
    lines = [line for line in listed.stdout.splitlines() if nested in line]
    assert [line.split()[1] for line in lines] == [f"{nested}-c", f"{nested}-a"]
    assert "0.1" in lines[0] and "0.8" in lines[0]
    assert "0.01" in lines[1] and "0.9" in lines[1]
    assert "OPTIMIZER.LR" in listed.stdout


def test_the_cli_shows_the_servers_error_with_the_backquoted_spelling(signed_in):
    listed = run_cli("models", "ls", "--query", "m.f1@5 > 0.3")
    assert listed.returncode != 0
    assert "write it as m.`f1@5`" in listed.stderr + listed.stdout

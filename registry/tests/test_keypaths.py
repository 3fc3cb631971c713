import pytest

from registry import keypaths


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("lr", ("lr",)),
        ("optimizer.lr", ("optimizer", "lr")),
        ("`a.b`.c", ("a.b", "c")),
        ("`a``b`", ("a`b",)),
        ("val/acc", ("val/acc",)),
        ("train-loss", ("train-loss",)),
    ],
)
def test_it_splits_a_path_and_writes_it_back(path, parts):
    assert keypaths.split(path) == parts
    assert keypaths.join(parts) == path


@pytest.mark.parametrize("path", ["", "a.", ".a", "a..b", "`a", "`a`b", "a`b"])
def test_it_refuses_a_path_that_cannot_be_split(path):
    with pytest.raises(keypaths.KeyPathError):
        keypaths.split(path)


def test_it_follows_a_path_and_tells_null_from_missing():
    config = {"optimizer": {"lr": 0.1, "betas": None}, "a.b": 3}
    assert keypaths.value_at(config, "optimizer.lr") == 0.1
    assert keypaths.value_at(config, "`a.b`") == 3
    assert keypaths.value_at(config, "optimizer.lr.x", "absent") == "absent"
    assert keypaths.has(config, "optimizer.betas") is True
    assert keypaths.has(config, "optimizer.momentum") is False


def test_it_lists_the_leaves_as_paths():
    config = {"optimizer": {"lr": 0.1, "name": "adam"}, "a.b": {}, "epochs": 3}
    assert dict(keypaths.leaves(config)) == {"optimizer.lr": 0.1, "optimizer.name": "adam", "`a.b`": {}, "epochs": 3}

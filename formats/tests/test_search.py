"""`format` and `format.params` in the query language: conditions and ordering through the
models API, on SQLite and PostgreSQL alike, within what the caller may see."""

import pytest

from formats import services
from formats.tests import builders
from registry.tests.factories import folder_version, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(alice, bob, project, tmp_path):
    """small (safetensors, 21 params), big (safetensors, 42 params in two shards), graph (ONNX,
    8 params), legacy (a pickle: no count), unread (not introspected) and Bob's private one."""
    made = {
        "small": folder_version(alice, project, {"model.safetensors": builders.safetensors_bytes()}, name="small"),
        "big": folder_version(
            alice,
            project,
            {
                "model-00001-of-00002.safetensors": builders.safetensors_bytes(),
                "model-00002-of-00002.safetensors": builders.safetensors_bytes(metadata={"shard": "2"}),
                "config.json": b"{}",
            },
            name="big",
        ),
        "graph": upload(alice, project, "graph", content=builders.onnx_bytes()),
        "legacy": upload(alice, project, "legacy", content=builders.malicious_pickle(tmp_path / "s")),
        "unread": upload(alice, project, "unread", content=builders.safetensors_bytes()),
        "hidden": upload(bob, project, "hidden", content=builders.safetensors_bytes(), private=True),
    }
    for label, model in made.items():
        if label != "unread":
            services.version_introspect(model=model)
    return made


@pytest.fixture
def search(api, rows, alice):
    labels = {model.pk: label for label, model in rows.items()}

    def run(q="", user=alice, **params):
        response = api.as_user(user).get("/api/v1/models/", {"per_page": 100, "q": q, **params})
        assert response.status_code == 200, response.content
        return [labels[item["id"]] for item in response.json()["data"]]

    return run


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ('format = "safetensors"', {"small", "big"}),
        ('format = "onnx"', {"graph"}),
        ('format in ("onnx", "pytorch")', {"graph", "legacy"}),
        ('format like "safe%"', {"small", "big"}),
        ('format != "safetensors"', {"graph", "legacy", "unread"}),
        ("format.params > 21", {"big"}),
        ("format.params >= 21", {"small", "big"}),
        ("format.params < 1e3", {"small", "big", "graph"}),
        ('format = "safetensors" and format.params > 7e9', set()),
        ('format = "safetensors" and format.params = 42', {"big"}),
        ("format.params in (8, 21)", {"small", "graph"}),
    ],
)
def test_format_conditions(search, q, expected):
    assert set(search(q)) == expected


def test_ordering_by_parameters_puts_versions_without_a_count_last_both_ways(search):
    assert search(ordering="-format.params")[:3] == ["big", "small", "graph"]
    assert search(ordering="format.params")[:3] == ["graph", "small", "big"]
    assert set(search(ordering="-format.params")[3:]) == {"legacy", "unread"}
    assert set(search(ordering="format.params")[3:]) == {"legacy", "unread"}


def test_ordering_by_format(search):
    order = search(ordering="format,name")
    assert order[:4] == ["graph", "legacy", "big", "small"]  # onnx, pytorch, safetensors


def test_a_private_version_is_not_found_by_its_format_by_others(search, bob):
    assert "hidden" not in search('format = "safetensors"')
    assert "hidden" in search('format = "safetensors"', user=bob)


@pytest.mark.parametrize(
    ("q", "message"),
    [
        ('format.params > "big"', "numbers"),
        ("format = 3", "quoted strings"),
        ("format.size > 1", "Unknown field"),
        ("format.params.x > 1", ""),
    ],
)
def test_bad_format_queries_are_a_400(api, alice, rows, q, message):
    response = api.as_user(alice).get("/api/v1/models/", {"q": q})
    assert response.status_code == 400
    assert message in response.content.decode()

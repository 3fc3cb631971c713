"""registry/api/rendered.py: on PostgreSQL a list page is written by the database, and it must be
the page the serializer writes, value for value, for every kind of value a model can hold."""

import datetime
import json

import pytest
from django.db import connection
from django.utils import timezone

from formats import services as formats_services
from formats.models import VersionFacts
from formats.tests import builders
from registry import services
from registry.api import rendered
from registry.models import MLModel, Tag
from registry.tests.factories import upload

URL = "/api/v1/models/"
pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL renders pages; SQLite does not")

# Each a model's keyword arguments: the values the rendering must carry over exactly.
KINDS = {
    "plain": {"hyperparameters": {"lr": 0.001, "optimizer": "adam"}, "metrics": {"accuracy": 0.93}},
    "text": {
        "name": 'résumé 模型 "quoted" \\ back',
        "dataset_name": "tab\tand\nnewline",
        "dataset_description": "control \x01\x1f and line\u2028separators\u2029 and 🦊",
        "git_branch": "feature/ü",
        "git_commit": "0123456789abcdef0123456789abcdef01234567",
        "hyperparameters": {"note": "'single' \"double\" </script>", "ключ": "значение", "": "empty key"},
    },
    "numbers": {
        "hyperparameters": {"small": 1e-05, "tiny": 2.5e-08, "third": 1 / 3, "negative zero": -0.0},
        "parameters": {"int": 2**63 - 1, "past 64 bits": 2**70, "negative": -(2**64), "huge float": 1e300},
        "metrics": {"whole float": 3.0, "exp": 1.5e16},
    },
    "nesting and types": {
        "hyperparameters": {"layers": [64, [32, 16]], "opt": {"name": "sgd", "betas": [0.9, None]}, "on": True},
        "parameters": {"off": False, "nothing": None, "empty list": [], "empty object": {}},
    },
    "empty": {"hyperparameters": {}, "parameters": {}, "metrics": {}},
    "provenance": {"git_remote_url": "ssh://git@host.example.com:2222/acme/r.git", "git_dirty": True},
    "clean tree": {"git_remote_url": "https://github.com/acme/r.git", "git_dirty": False},
    "tagged": {"tags": ["zeta", "alpha", "Beta", "x" * 50]},
    "private": {"private": True, "tags": ["secret"]},
    # Read by the fixture (formats): an object with a parameter count, and one without.
    "safetensors": {"content": builders.safetensors_bytes()},
    "pickled": {"content": builders.torch_zip()},
}


@pytest.fixture
def models(project, bob):
    made = {kind: upload(bob, project, **{"name": kind, **fields}) for kind, fields in KINDS.items()}
    for kind in ("safetensors", "pickled"):
        formats_services.version_introspect(model=made[kind])
    # Past 32 bits, as a 7B model's count is.
    VersionFacts.objects.filter(model=made["safetensors"]).update(params=7_241_732_096)
    # A timestamp with no microseconds is written without them, as DRF writes it.
    whole = datetime.datetime(2026, 12, 6, 1, 2, 3, tzinfo=datetime.UTC)
    MLModel.objects.filter(pk=made["plain"].pk).update(created=whole, updated=whole)
    # Two aliases, set out of order, on one version; every other version holds none.
    for alias in ("staging", "production"):
        services.alias_set(registered_model=made["plain"].registered_model, name=alias, version=1, user=bob)
    return made


def _both(client, query, monkeypatch) -> tuple[dict, dict]:
    """The same request answered by PostgreSQL's rendering and by the serializer."""
    by_database = client.get(URL, query)
    with monkeypatch.context() as patched:
        patched.setattr(rendered, "renders", lambda queryset: False)
        by_serializer = client.get(URL, query)
    assert by_database.status_code == by_serializer.status_code == 200, by_database.content
    return json.loads(by_database.content), json.loads(by_serializer.content)


def test_every_kind_of_value_is_rendered_as_the_serializer_renders_it(api, models, bob, monkeypatch):
    database, serializer = _both(api.as_user(bob), {"per_page": 100}, monkeypatch)

    assert len(database["data"]) == len(KINDS)
    for mine, reference in zip(database["data"], serializer["data"], strict=True):
        assert mine == reference, mine["name"]
        assert list(mine) == list(reference)  # and in the same order of keys
    assert database["pagination"] == serializer["pagination"]
    plain = next(m for m in database["data"] if m["name"] == "plain")
    assert plain["created"] == "2026-12-06T01:02:03Z"
    assert plain["aliases"] == ["production", "staging"]
    assert plain["registered_model_id"] == models["plain"].registered_model_id
    assert all(m["aliases"] == [] for m in database["data"] if m["name"] != "plain")
    assert plain["_links"]["download"] == f"http://testserver/api/v1/models/{plain['id']}/download/"
    by_name = {m["name"]: m for m in database["data"]}
    assert by_name["safetensors"]["format"] == {"name": "safetensors", "params": 7_241_732_096, "verdict": "safe"}
    assert by_name["pickled"]["format"]["name"] == "pytorch" and by_name["pickled"]["format"]["verdict"] == "pickle"
    assert plain["format"] is None  # not read yet


def test_the_database_wrote_the_page(api, models, bob):
    """Not the serializer's fallback: the tags and alias names came in the page's one statement."""
    from django.test.utils import CaptureQueriesContext

    client = api.as_user(bob)
    with CaptureQueriesContext(connection) as queries:
        body = client.get(URL, {"per_page": 100}).json()
    statements = [q["sql"] for q in queries.captured_queries]
    assert any("json_build_object" in sql for sql in statements)
    assert not any(sql.startswith('SELECT l."mlmodel_id"') for sql in statements)  # no separate tags query
    assert not any(sql.startswith('SELECT "version_id"') for sql in statements)  # nor alias names query
    tagged = next(m for m in body["data"] if m["name"] == "tagged")
    in_tag_order = models["tagged"].tags.order_by(*Tag._meta.ordering, "id").values_list("name", flat=True)
    assert [t["name"] for t in tagged["tags"]] == list(in_tag_order)


@pytest.mark.parametrize(
    "query",
    [
        {"ordering": "-metrics.accuracy", "per_page": 3},
        {"ordering": "name", "per_page": 2, "page": 2},
        {"q": 'hp.optimizer = "adam" or parameters.off = false', "ordering": "-created"},
        {"ordering": "hp.small,-id"},
        {"tag": "secret"},
        {"per_page": 2, "page": 4},
        {"ordering": "-format.params,id", "per_page": 4},
        {"q": 'format.verdict = "safe"'},
    ],
)
def test_filtered_ordered_and_paged_lists_are_the_serializer_s(api, models, bob, query, monkeypatch):
    database, serializer = _both(api.as_user(bob), query, monkeypatch)
    assert database == serializer
    assert [m["id"] for m in database["data"]] == [m["id"] for m in serializer["data"]]


def test_another_member_s_private_model_is_never_rendered(api, models, alice, bob):
    names = [m["name"] for m in api.as_user(alice).get(URL, {"per_page": 100}).json()["data"]]
    assert "private" not in names and len(names) == len(KINDS) - 1
    assert api.as_user(alice).get(URL, {"q": 'name = "private"'}).json()["data"] == []


def test_a_model_made_private_leaves_the_next_page_at_once(api, models, alice, bob):
    services.model_update(model=models["plain"], user=bob, private=True)
    names = [m["name"] for m in api.as_user(alice).get(URL, {"per_page": 100}).json()["data"]]
    assert "plain" not in names


def test_a_page_past_the_end_is_still_404(api, models, bob):
    assert api.as_user(bob).get(URL, {"per_page": 5, "page": 4}).status_code == 404


def test_an_indented_answer_reads_the_rendered_rows_back(api, models, bob, monkeypatch):
    client = api.as_user(bob)
    pretty = client.get(URL, {"per_page": 100}, HTTP_ACCEPT="application/json; indent=2")
    assert pretty.status_code == 200 and b'\n  "data": [' in pretty.content
    assert json.loads(pretty.content) == _both(client, {"per_page": 100}, monkeypatch)[0]


def test_only_utc_requests_are_rendered_by_the_database(project):
    # The SQL writes timestamps in UTC; another active time zone gets the serializer's offsets.
    models = MLModel.objects.all()
    assert rendered.renders(models)
    with timezone.override("Asia/Kolkata"):
        assert not rendered.renders(models)

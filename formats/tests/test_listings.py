"""The facts in the lists: the models API's `format` object and the model table's format columns
(docs/formats.md), on SQLite and on PostgreSQL (where the database writes the API's page)."""

import re

import pytest

from formats import services
from formats.models import VersionFacts
from formats.tests import builders
from registry.tests.assertions import model_list_queries
from registry.tests.factories import upload

pytestmark = pytest.mark.django_db
URL = "/api/v1/models/"


@pytest.fixture
def versions(project, bob, tmp_path):
    """A safetensors version (21 parameters), a suspicious pickle and a version not read yet."""
    made = {
        "weights": upload(bob, project, name="weights", content=builders.safetensors_bytes()),
        "evil": upload(bob, project, name="evil", content=builders.malicious_pickle(tmp_path / "sentinel")),
        "unread": upload(bob, project, name="unread", content=builders.safetensors_bytes()),
    }
    for name in ("weights", "evil"):
        services.version_introspect(model=made[name])
    assert not (tmp_path / "sentinel").exists()
    return made


def by_name(body) -> dict:
    return {m["name"]: m for m in body["data"]}


class TestAPI:
    def test_the_list_carries_each_version_s_facts_or_null(self, api, bob, versions):
        models = by_name(api.as_user(bob).get(URL).json())
        assert models["weights"]["format"] == {"name": "safetensors", "params": builders.PARAMS, "verdict": "safe"}
        assert models["evil"]["format"] == {"name": "pytorch", "params": None, "verdict": "suspicious"}
        assert models["unread"]["format"] is None

    def test_a_version_by_id_and_by_cursor_too(self, api, bob, versions):
        client = api.as_user(bob)
        one = client.get(f"{URL}{versions['weights'].pk}/").json()["data"]
        assert one["format"] == {"name": "safetensors", "params": builders.PARAMS, "verdict": "safe"}
        cursor = by_name(client.get(URL, {"cursor": "", "per_page": 10}).json())
        assert cursor["evil"]["format"]["verdict"] == "suspicious" and cursor["unread"]["format"] is None

    def test_the_facts_follow_a_new_read(self, api, bob, versions):
        services.version_introspect(model=versions["unread"])
        models = by_name(api.as_user(bob).get(URL).json())
        assert models["unread"]["format"]["params"] == builders.PARAMS

    def test_sorted_by_parameters_the_largest_first_unread_last(self, api, bob, versions):
        VersionFacts.objects.filter(model=versions["evil"]).update(params=7_241_732_096)
        body = api.as_user(bob).get(URL, {"ordering": "-format.params"}).json()
        assert [m["name"] for m in body["data"]][:2] == ["evil", "weights"]
        assert body["data"][0]["format"]["params"] == 7_241_732_096

    @pytest.mark.parametrize("count", [2, 12])
    def test_read_versions_cost_no_query_per_row(self, api, project, bob, count, django_assert_num_queries):
        for i in range(count):
            model = upload(bob, project, name=f"m{i}", content=builders.safetensors_bytes(), tags=["a"])
            if i % 2:
                services.version_introspect(model=model)
        client = api.as_user(bob)
        with django_assert_num_queries(model_list_queries()):
            body = client.get(URL).json()
        assert sum(m["format"] is not None for m in body["data"]) == count // 2


class TestTable:
    @pytest.fixture
    def signed_in(self, client, bob):
        client.force_login(bob)
        return client

    def url(self, project, query=""):
        return f"/projects/{project.pk}/?{query}"

    def test_the_format_columns_are_hidden_unless_asked_for(self, signed_in, project, versions):
        response = signed_in.get(self.url(project, "col=&ordering=name"))
        assert "format" in response.context["state"].hidden
        assert not any(h["name"].startswith("format") for h in response.context["headers"])
        assert b"data-verdict" not in response.content

    def test_format_parameters_and_verdict_badge(self, signed_in, project, versions):
        response = signed_in.get(self.url(project, "col=format&col=format.params&col=format.verdict&ordering=name"))
        headers = [(h["name"], h["label"], h["numeric"], h["sortable"]) for h in response.context["headers"]]
        assert headers == [
            ("format", "Format", False, True),
            ("format.params", "Parameters", True, True),
            ("format.verdict", "Verdict", False, True),
        ]
        cells = {row.model.name: str(row.cells_html) for row in response.context["rows"]}
        assert cells["weights"].startswith("<td>safetensors</td>")
        assert '<span title="21 parameters">21</span>' in cells["weights"]
        assert 'class="badge badge--owner" data-verdict="safe"' in cells["weights"]
        assert 'class="badge badge--warn" data-verdict="suspicious"' in cells["evil"]
        assert ">suspicious</span>" in cells["evil"] and "loading it runs them" in cells["evil"]
        assert cells["unread"].count("not been read yet") == 3
        assert b">Parameters<" in response.content

    def test_parameters_are_shown_as_people_say_them(self, signed_in, project, versions):
        VersionFacts.objects.filter(model=versions["weights"]).update(params=7_241_732_096)
        response = signed_in.get(self.url(project, "col=format.params&ordering=name"))
        cell = next(str(r.cells_html) for r in response.context["rows"] if r.model.name == "weights")
        assert cell == '<td class="num"><span title="7,241,732,096 parameters">7.24 B</span></td>'

    def test_sorting_by_parameters_shows_the_column_largest_first(self, signed_in, project, versions):
        VersionFacts.objects.filter(model=versions["evil"]).update(params=10**9)
        response = signed_in.get(self.url(project, "col=&ordering=-format.params"))
        assert [row.model.name for row in response.context["rows"]] == ["evil", "weights", "unread"]
        header = next(h for h in response.context["headers"] if h["name"] == "format.params")
        assert header["direction"] == "descending"
        assert re.search(r"ordering=format\.params", header["url"])  # the next click: ascending
        # An unsorted table's first click on Parameters asks for the largest first.
        other = signed_in.get(self.url(project, "col=format.params&ordering=name")).context["headers"]
        assert "ordering=-format.params" in next(h["url"] for h in other if h["name"] == "format.params")

    def test_the_columns_cost_no_query_per_row(self, signed_in, project, bob, django_assert_num_queries):
        def page():
            return signed_in.get("/models/?col=format&col=format.params&col=format.verdict&per_page=100")

        for i in range(3):
            services.version_introspect(model=upload(bob, project, name=f"a{i}", content=builders.safetensors_bytes()))
        page()
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as few:
            page()
        for i in range(20):
            services.version_introspect(model=upload(bob, project, name=f"b{i}", content=builders.safetensors_bytes()))
        with django_assert_num_queries(len(few)):
            response = page()
        assert len(response.context["rows"]) == 23

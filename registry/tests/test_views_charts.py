"""Web UI: the charts' data, `?format=chart` on the model table (registry/web/charts.py).

Alice owns the workspace, Bob is a member, Eve an outsider (see conftest.py).
"""

import pytest

from registry.tests.factories import upload
from registry.web import charts


@pytest.fixture
def models(project, alice, bob):
    """Four models; `d` has a text learning rate, `c` nests its optimizer settings."""
    return {
        "a": upload(bob, project, name="a", hyperparameters={"lr": 0.01, "optimizer": "adam"}, metrics={"acc": 0.9}),
        "b": upload(bob, project, name="b", hyperparameters={"lr": 0.001, "optimizer": "sgd"}, metrics={"acc": 0.95}),
        "c": upload(
            alice,
            project,
            name="c",
            hyperparameters={"lr": 0.1, "optimizer": "adam", "opt": {"beta": 0.9, "a.b": 2}},
            metrics={"acc": 0.8},
        ),
        "d": upload(alice, project, name="d", hyperparameters={"lr": "auto"}, metrics={"loss": 0.1}),
    }


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def chart(client, project, query: str = "") -> dict:
    response = client.get(f"/projects/{project.pk}/?{query}&format=chart")
    assert response.status_code == 200, response.content
    return response.json()


def labels(data) -> list[str]:
    return sorted(point["label"] for point in data["points"])


class TestSample:
    def test_it_plots_the_whole_filtered_set_not_the_page(self, signed_in, project, bob):
        for i in range(27):
            upload(bob, project, name=f"m{i:02d}", metrics={"acc": i / 100})
        data = chart(signed_in, project, "per_page=25&page=2&ordering=metrics.acc&q=metrics.acc >= 0.02")
        assert data["count"] == 25 and data["total"] == 25 and not data["truncated"]
        assert labels(data) == [f"m{i:02d} v1" for i in range(2, 27)]

    def test_it_stops_at_the_cap_with_the_newest_and_says_how_many_match(self, signed_in, project, bob, monkeypatch):
        monkeypatch.setattr(charts, "CHART_CAP", 3)
        for i in range(5):
            upload(bob, project, name=f"m{i}", metrics={"acc": i})
        # Sorted by the smallest accuracy first, the cap still takes the newest, not the table's first rows.
        data = chart(signed_in, project, "ordering=metrics.acc")
        assert data["truncated"] and data["count"] == 3 and data["total"] == 5 and data["cap"] == 3
        assert labels(data) == ["m2 v1", "m3 v1", "m4 v1"]

    def test_the_page_names_the_cap(self, signed_in, models):
        page = signed_in.get(f"/projects/{models['a'].project_id}/").content.decode()
        assert "up to 5,000 (the newest)" in page

    def test_the_query_count_does_not_grow_with_the_models(self, signed_in, project, bob, django_assert_num_queries):
        upload(bob, project, name="first", metrics={"acc": 1})
        with django_assert_num_queries(5) as first:
            chart(signed_in, project, "y=m.acc")
        for i in range(5):
            upload(bob, project, name=f"more{i}", hyperparameters={"opt": {"lr": i}}, metrics={"acc": i})
        with django_assert_num_queries(len(first.captured_queries)):
            assert chart(signed_in, project, "y=m.acc&col=hp.opt.lr")["count"] == 6

    def test_private_models_of_others_are_never_plotted(self, client, project, alice, bob, eve):
        upload(alice, project, name="mine", metrics={"acc": 1})
        upload(bob, project, name="secret", metrics={"acc": 2}, private=True)
        client.force_login(alice)
        assert labels(chart(client, project)) == ["mine v1"]
        client.force_login(bob)
        assert labels(chart(client, project)) == ["mine v1", "secret v1"]

    def test_outsiders_get_a_404_and_anonymous_users_the_login_page(self, client, project, eve):
        assert client.get(f"/projects/{project.pk}/?format=chart").status_code == 302
        client.force_login(eve)
        assert client.get(f"/projects/{project.pk}/?format=chart").status_code == 404

    def test_a_bad_query_is_a_400_with_the_error(self, signed_in, models):
        response = signed_in.get(f"/projects/{models['a'].project_id}/?q=metrics.acc >&format=chart")
        assert response.status_code == 400 and response.json()["errors"]

    def test_each_point_links_to_its_model(self, signed_in, models):
        data = chart(signed_in, models["a"].project, 'q=hp.optimizer = "sgd"')
        assert [p["url"] for p in data["points"]] == [f"/models/{models['b'].pk}/"]


class TestKeys:
    def test_it_follows_the_filters_and_the_chosen_axes(self, signed_in, models):
        data = chart(signed_in, models["a"].project, "min.m.acc=0.85&x=hp.optimizer&y=m.acc&col=")
        assert (data["x"], data["y"]) == ("hyperparameters.optimizer", "metrics.acc")
        assert labels(data) == ["a v1", "b v1"]
        assert {p["values"]["metrics.acc"] for p in data["points"]} == {0.9, 0.95}

    def test_a_text_key_is_a_categorical_axis_with_its_values(self, signed_in, models):
        data = chart(signed_in, models["a"].project, "x=hp.optimizer&y=m.acc")
        keys = {key["name"]: key for key in data["keys"]}
        assert keys["hyperparameters.optimizer"]["kind"] == "text"
        assert keys["hyperparameters.optimizer"]["categories"] == ["adam", "sgd"]
        assert keys["metrics.acc"]["kind"] == "number"

    def test_a_key_with_numbers_and_text_is_text_so_no_value_is_dropped(self, signed_in, models):
        data = chart(signed_in, models["a"].project, "x=hp.lr&y=m.acc")
        keys = {key["name"]: key for key in data["keys"]}
        assert keys["hyperparameters.lr"]["kind"] == "text"
        assert {p["label"]: p["values"]["hyperparameters.lr"] for p in data["points"]}["d v1"] == "auto"

    def test_booleans_and_nulls_are_not_numbers(self, signed_in, project, bob):
        upload(bob, project, name="yes", hyperparameters={"mixup": True, "seed": None}, metrics={"acc": 1})
        upload(bob, project, name="no", hyperparameters={"mixup": False, "seed": 3}, metrics={"acc": 2})
        data = chart(signed_in, project, "x=hp.mixup&y=m.acc&color=hp.seed")
        keys = {key["name"]: key for key in data["keys"]}
        assert keys["hyperparameters.mixup"]["kind"] == "text"
        assert keys["hyperparameters.mixup"]["categories"] == ["false", "true"]
        assert keys["hyperparameters.seed"]["kind"] == "number"
        assert "hyperparameters.seed" not in next(p for p in data["points"] if p["label"] == "yes v1")["values"]

    def test_nested_keys_are_read_by_their_dot_path(self, signed_in, models):
        data = chart(signed_in, models["a"].project, "x=hp.opt.beta&y=m.acc&color=hp.opt.`a.b`")
        assert (data["x"], data["color"]) == ("hyperparameters.opt.beta", "hyperparameters.opt.`a.b`")
        point = next(p for p in data["points"] if p["label"] == "c v1")
        assert point["values"]["hyperparameters.opt.beta"] == 0.9
        assert point["values"]["hyperparameters.opt.`a.b`"] == 2
        keys = {key["name"]: key for key in data["keys"]}
        assert keys["hyperparameters.opt.`a.b`"]["parts"] == ["opt", "a.b"]
        assert keys["hyperparameters.opt.`a.b`"]["section"] == "hyperparameters"

    def test_the_table_columns_are_the_parallel_axes(self, signed_in, models):
        data = chart(signed_in, models["a"].project, "col=hp.lr&col=m.acc&col=hp.optimizer")
        assert data["axes"] == ["hyperparameters.lr", "metrics.acc", "hyperparameters.optimizer"]

    def test_a_key_that_is_not_a_path_is_ignored(self, signed_in, models):
        data = chart(signed_in, models["a"].project, "x=nonsense&y=m.acc&color=hp.`open&col=")
        assert data["x"] == chart(signed_in, models["a"].project, "y=m.acc&col=")["x"]  # the default
        assert "nonsense" not in str(data["keys"]) and data["color"] is None

    def test_points_are_coloured_by_the_y_axis_unless_told_otherwise(self, signed_in, models):
        project = models["a"].project
        assert chart(signed_in, project, "y=m.acc")["color"] == "metrics.acc"
        assert chart(signed_in, project, "y=m.acc&color=hp.optimizer")["color"] == "hyperparameters.optimizer"
        assert chart(signed_in, project, "y=m.acc&color=none")["color"] is None

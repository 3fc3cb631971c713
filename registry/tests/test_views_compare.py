"""Web UI: the compare page, `/models/compare/?id=…` (registry/web/views/compare.py).

Alice owns the workspace, Bob is a member, Carol a viewer, Eve an outsider (see conftest.py).
"""

import pytest

from registry import services
from registry.tests.factories import upload
from registry.web.views.compare import LOWER_IS_BETTER, _delta


def as_user(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def pair(project, alice, bob):
    return [
        upload(
            bob,
            project,
            name="a",
            hyperparameters={"lr": 0.1, "bs": 64, "optimizer": {"name": "adam", "beta": 0.9}},
            metrics={"accuracy": 0.8, "loss": 0.3},
        ),
        upload(
            alice,
            project,
            name="b",
            hyperparameters={"lr": 0.01, "bs": 64, "optimizer": {"name": "sgd", "beta": 0.9}},
            metrics={"accuracy": 0.9, "loss": 0.2, "val/f1": 0.5},
        ),
    ]


def url(*models, diff=False, base=None):
    query = "&".join(f"id={m.pk}" for m in models) + ("&diff=1" if diff else "")
    return "/models/compare/?" + query + (f"&base={base.pk}" if base else "")


def rows(response) -> dict:
    return {row["label"]: row for _, group in response.context["groups"] for row in group}


class TestCompare:
    def test_it_shows_the_models_side_by_side(self, client, carol, pair):
        response = as_user(client, carol).get(url(*pair))
        assert response.status_code == 200
        found = rows(response)
        assert [c["value"] for c in found["lr"]["cells"]] == ["0.1", "0.01"]
        assert found["lr"]["differs"] and not found["bs"]["differs"]

    def test_nested_keys_are_rows_named_by_their_dot_path(self, client, carol, pair):
        found = rows(as_user(client, carol).get(url(*pair)))
        assert [c["value"] for c in found["optimizer.name"]["cells"]] == ["adam", "sgd"]
        assert found["optimizer.name"]["differs"] and not found["optimizer.beta"]["differs"]
        assert "optimizer" not in found

    def test_a_missing_key_is_not_shown_as_a_stored_null(self, client, carol, project, bob, alice):
        one = upload(bob, project, name="one", metrics={"f1": None})
        two = upload(alice, project, name="two", metrics={})
        cells = rows(as_user(client, carol).get(url(one, two)))["f1"]["cells"]
        assert [(c["value"], c["missing"]) for c in cells] == [("null", False), ("", True)]

    def test_the_first_model_is_the_baseline_and_others_show_their_change(self, client, carol, pair):
        response = as_user(client, carol).get(url(*pair))
        assert [c["baseline"] for c in response.context["columns"]] == [True, False]
        accuracy = rows(response)["accuracy"]["cells"]
        assert accuracy[0]["delta"] is None
        assert accuracy[1]["delta"]["shown"] == "+0.1" and accuracy[1]["delta"]["percent"] == "+12.5%"
        assert accuracy[1]["delta"]["better"]
        loss = rows(response)["loss"]["cells"][1]["delta"]
        assert loss["shown"] == "-0.1" and loss["percent"] == "-33.3%" and loss["better"]
        assert "baseline" in response.content.decode() and "+12.5%" in response.content.decode()

    def test_another_baseline_can_be_chosen(self, client, carol, pair):
        response = as_user(client, carol).get(url(*pair, base=pair[1]))
        assert [c["baseline"] for c in response.context["columns"]] == [False, True]
        delta = rows(response)["lr"]["cells"][0]["delta"]
        assert delta["shown"] == "+0.09" and delta["percent"] == "+900%"
        assert rows(as_user(client, carol).get(url(pair[1], pair[0])))["bs"]["cells"][1]["delta"] is None

    def test_a_large_change_is_in_whole_per_cent_and_a_zero_baseline_has_none(self):
        assert _delta(0.5, 0.01)["percent"] == "+4,900%"
        assert _delta(-3, 0.5)["percent"] == "-700%"
        assert _delta(2, 0) == {"value": 2, "shown": "+2", "percent": "", "up": True}

    def test_equal_values_text_and_facts_have_no_delta(self, client, carol, pair):
        found = rows(as_user(client, carol).get(url(*pair)))
        assert found["bs"]["cells"][1]["delta"] is None
        assert found["optimizer.name"]["cells"][1]["delta"] is None
        assert found["Version"]["cells"][1]["delta"] is None

    def test_the_best_metric_is_highlighted_larger_or_smaller(self, client, carol, pair):
        found = rows(as_user(client, carol).get(url(*pair)))
        assert [c["best"] for c in found["accuracy"]["cells"]] == [False, True]
        assert [c["best"] for c in found["loss"]["cells"]] == [False, True] and found["loss"]["lower_is_better"]
        assert not any(c["best"] for c in found["lr"]["cells"])

    @pytest.mark.parametrize("name", ["loss", "val_error", "mae", "mse", "rmse", "perplexity", "train/loss"])
    def test_errors_and_losses_are_better_smaller(self, name):
        assert LOWER_IS_BETTER.search(name)

    @pytest.mark.parametrize("name", ["accuracy", "f1", "auc", "bleu"])
    def test_other_metrics_are_better_larger(self, name):
        assert not LOWER_IS_BETTER.search(name)

    def test_differences_only_drops_equal_rows(self, client, carol, pair):
        found = rows(as_user(client, carol).get(url(*pair, diff=True)))
        assert "lr" in found and "optimizer.name" in found and "val/f1" in found
        assert "bs" not in found and "optimizer.beta" not in found and "Project" not in found

    def test_models_the_user_cannot_see_make_it_404(self, client, eve, pair):
        assert as_user(client, eve).get(url(*pair)).status_code == 404

    def test_a_model_hidden_or_deleted_since_it_was_ticked_is_left_out_and_counted(self, client, alice, bob, pair):
        services.model_update(model=pair[0], user=bob, private=True)
        response = as_user(client, alice).get(url(*pair))
        assert response.status_code == 200 and response.context["models"] == [pair[1]]
        assert "1 of the chosen models is not shown: deleted, or not visible to you." in response.content.decode()
        deleted = url(*pair).replace(f"id={pair[0].pk}", "id=999999")
        assert client.get(deleted).content.decode().count("is not shown: deleted, or not visible to you") == 1
        assert as_user(client, bob).get(url(*pair)).context["unavailable"] == 0

    def test_without_models_it_explains_what_to_do(self, client, alice):
        response = as_user(client, alice).get("/models/compare/?id=x")
        assert response.status_code == 200 and "Pick two or more models" in response.content.decode()

    def test_anonymous_visitors_are_sent_to_sign_in(self, client, pair):
        assert client.get(url(*pair)).status_code == 302

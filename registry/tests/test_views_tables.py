"""Web UI: the model table on `/projects/<id>/` and `/models/`, its CSV export and chart data.

Alice owns the workspace, Bob is a member, Carol a viewer, Eve an outsider (see conftest.py).
"""

import csv
import io
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import dateformat, timezone

from registry import services
from registry.search import indexes
from registry.tests.factories import upload

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="expression indexes are for PostgreSQL")


def names(response) -> list[str]:
    """The models in the table, in order, as "name vN"."""
    return [f"{row.model.name} v{row.model.version}" for row in response.context["rows"]]


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def models(project, alice, bob):
    """Four models with overlapping keys; `d` lacks the accuracy metric."""
    return {
        "a": upload(
            bob, project, name="a", hyperparameters={"lr": 0.01, "optimizer": "adam"}, metrics={"accuracy": 0.9}
        ),
        "b": upload(
            bob, project, name="b", hyperparameters={"lr": 0.001, "optimizer": "sgd"}, metrics={"accuracy": 0.95}
        ),
        "c": upload(
            alice,
            project,
            name="c",
            hyperparameters={"lr": 0.1, "optimizer": "adam", "mixup": True},
            metrics={"accuracy": 0.8, "loss": 0.3},
            tags=["prod"],
        ),
        "d": upload(alice, project, name="d", hyperparameters={"lr": "auto"}, metrics={"loss": 0.1}),
    }


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def project_url(project, query: str = "") -> str:
    return f"/projects/{project.pk}/" + (f"?{query}" if query else "")


class TestWhoSeesTheProjectPage:
    def test_it_sends_anonymous_visitors_to_sign_in(self, client, project):
        response = client.get(project_url(project))
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))

    @pytest.mark.parametrize("who", ["alice", "bob", "carol"])
    def test_workspace_members_see_it(self, client, request, models, who):
        client.force_login(request.getfixturevalue(who))
        response = client.get(project_url(models["a"].project))
        assert response.status_code == 200
        assert sorted(names(response)) == ["a v1", "b v1", "c v1", "d v1"]

    def test_an_outsider_gets_404(self, client, eve, project):
        client.force_login(eve)
        assert client.get(project_url(project)).status_code == 404
        assert client.get(project_url(project, "format=csv")).status_code == 404
        assert client.get(project_url(project, "format=chart")).status_code == 404

    def test_the_upload_button_shows_for_writers_only(self, client, bob, carol, project):
        client.force_login(bob)
        assert b"Upload a model" in client.get(project_url(project)).content
        client.force_login(carol)
        assert b"Upload a model" not in client.get(project_url(project)).content


class TestPrivateModels:
    @pytest.fixture
    def secret(self, project, bob):
        return upload(bob, project, name="secret", metrics={"hidden_metric": 1.0}, hyperparameters={"hidden_hp": 1})

    def test_they_are_hidden_from_the_table_columns_csv_and_charts(self, signed_in, project, models, secret):
        services.model_update(model=secret, user=secret.uploader, private=True)
        query = "col=metrics.hidden_metric&format="
        page = signed_in.get(project_url(project, query))
        assert "secret v1" not in names(page)
        offered = [field for _, _, keys in page.context["sections"] for field, _, _ in keys]
        assert "metrics.hidden_metric" not in offered and "hyperparameters.hidden_hp" not in offered
        assert page.context["state"].columns == []
        assert all(row["name"] != "secret" for row in csv_rows(signed_in.get(project_url(project, query + "csv"))))
        chart = signed_in.get(project_url(project, query + "chart")).json()
        assert all(point["label"] != "secret v1" for point in chart["points"])
        assert b"secret" not in signed_in.get("/models/").content

    def test_their_uploader_sees_them(self, client, bob, project, secret):
        services.model_update(model=secret, user=secret.uploader, private=True)
        client.force_login(bob)
        response = client.get(project_url(project, "col=metrics.hidden_metric"))
        assert names(response) == ["secret v1"] and b"hidden_metric" in response.content


class TestColumns:
    def test_it_shows_the_keys_most_models_hold_by_default(self, signed_in, models):
        """lr: 4 models, accuracy and optimizer: 3 (a metric first on a tie), loss: 2, mixup: 1."""
        response = signed_in.get(project_url(models["a"].project))
        assert response.context["state"].columns == [
            "hyperparameters.lr",
            "metrics.accuracy",
            "hyperparameters.optimizer",
            "metrics.loss",
        ]

    def test_the_url_chooses_the_columns_with_aliases(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, "col=hp.optimizer&col=metrics.loss"))
        assert response.context["state"].columns == ["hyperparameters.optimizer", "metrics.loss"]
        row = {r.model.name: [cell[0] for cell in r.cells] for r in response.context["rows"]}
        assert row["a"] == ["adam", ""] and row["c"] == ["adam", "0.3"]

    def test_an_empty_col_means_no_key_columns(self, signed_in, models):
        assert signed_in.get(project_url(models["a"].project, "col=")).context["state"].columns == []

    def test_unknown_keys_are_dropped(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, "col=metrics.nope&col=bogus&col=hp.lr"))
        assert response.context["state"].columns == ["hyperparameters.lr"]

    def test_the_chooser_offers_every_key_of_the_project(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project))
        offered = [field for _, _, keys in response.context["sections"] for field, _, _ in keys]
        assert offered == [
            "hyperparameters.lr",
            "hyperparameters.mixup",
            "hyperparameters.optimizer",
            "metrics.accuracy",
            "metrics.loss",
        ]

    def test_the_chooser_learns_keys_of_newly_uploaded_models(self, signed_in, project, models, bob):
        signed_in.get(project_url(project))
        upload(bob, project, name="e", metrics={"f1": 0.5})
        response = signed_in.get(project_url(project))
        assert "metrics.f1" in [field for _, _, keys in response.context["sections"] for field, _, _ in keys]

    def test_keys_are_typed_for_the_filter_panel(self, signed_in, models):
        catalog = signed_in.get(project_url(models["a"].project)).context["view"].catalog
        assert catalog.kind("metrics.accuracy") == "number"
        assert catalog.kind("hyperparameters.lr") == "text"  # "auto" beside numbers
        assert catalog.kind("hyperparameters.mixup") == "boolean"
        assert catalog.kind("hyperparameters.optimizer") == "text"

    def test_keys_with_odd_characters_work_as_columns_and_sorts(self, signed_in, project, bob):
        upload(bob, project, name="x", metrics={"val/acc 1": 0.5, "5": 1, "a__b": 2})
        upload(bob, project, name="y", metrics={"val/acc 1": 0.7, "5": 0, "a__b": 1})
        response = signed_in.get(project_url(project, "col=metrics.val/acc 1&col=m.5&col=m.a__b&ordering=-m.5"))
        assert response.context["state"].columns == ["metrics.val/acc 1", "metrics.5", "metrics.a__b"]
        assert names(response) == ["x v1", "y v1"]
        assert [cell[0] for cell in response.context["rows"][0].cells] == ["0.5", "1", "2"]


class TestRows:
    def test_a_row_links_to_its_model_and_shows_when_it_was_made(self, signed_in, models):
        model = models["a"]
        content = signed_in.get(project_url(model.project)).content.decode()
        created = timezone.localtime(model.created)
        shown = {f: dateformat.format(created, f) for f in ("c", "Y-m-d H:i:s T", "Y-m-d H:i")}  # as `|date` would
        assert f'<a href="/models/{model.pk}/">a</a>' in content
        assert f'<time datetime="{shown["c"]}" title="{shown["Y-m-d H:i:s T"]}">{shown["Y-m-d H:i"]}</time>' in content

    def test_key_cells_mark_numbers_missing_values_and_rounded_ones(self, signed_in, project, bob):
        upload(bob, project, name="x", metrics={"f1": 0.123456789, "note": "ok"})
        upload(bob, project, name="y", metrics={"f1": 0.5})
        content = signed_in.get(project_url(project, "col=m.f1&col=m.note&ordering=name")).content.decode()
        assert '<td class="num" title="0.123456789">0.123457</td><td title="&quot;ok&quot;">ok</td>' in content
        assert '<td class="num">0.5</td><td><span class="missing" aria-label="none">\N{EN DASH}</span></td>' in content

    def test_a_stored_null_is_shown_as_null_and_a_missing_key_as_a_dash(self, signed_in, project, bob):
        x = upload(bob, project, name="x", metrics={"f1": None})
        y = upload(bob, project, name="y", metrics={"other": 1})
        content = signed_in.get(project_url(project, "col=m.f1&ordering=name")).content.decode()
        rows = re.findall(r"<tr[ >].*?</tr>", content, re.S)
        row_x, row_y = (next(row for row in rows if f'href="/models/{m.pk}/"' in row) for m in (x, y))
        assert '<td><span class="muted">null</span></td>' in row_x and "missing" not in row_x
        assert '<td><span class="missing" aria-label="none">\N{EN DASH}</span></td>' in row_y

    def test_the_models_page_links_each_row_to_its_project(self, signed_in, models):
        project = models["a"].project
        content = signed_in.get("/models/").content.decode()
        # The fixed columns come before the keys: again after them for phones (table_columns.py).
        assert content.count(f'<td class="col-wide"><a href="/projects/{project.pk}/">resnets</a></td>') == 4
        assert content.count(f'<td class="col-phone"><a href="/projects/{project.pk}/">resnets</a></td>') == 4


class TestSorting:
    def test_it_sorts_by_a_metric_with_missing_values_last(self, signed_in, models):
        project = models["a"].project
        assert names(signed_in.get(project_url(project, "ordering=-metrics.accuracy"))) == [
            "b v1",
            "a v1",
            "c v1",
            "d v1",
        ]
        assert names(signed_in.get(project_url(project, "ordering=metrics.accuracy"))) == [
            "c v1",
            "a v1",
            "b v1",
            "d v1",
        ]

    def test_it_sorts_by_a_text_hyperparameter(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, "ordering=hp.optimizer,name"))
        assert names(response) == ["a v1", "c v1", "b v1", "d v1"]

    def test_it_sorts_by_fixed_columns(self, signed_in, models):
        project = models["a"].project
        assert names(signed_in.get(project_url(project, "ordering=-name"))) == ["d v1", "c v1", "b v1", "a v1"]
        assert names(signed_in.get(project_url(project, "ordering=user,name"))) == ["c v1", "d v1", "a v1", "b v1"]

    def test_the_newest_come_first_by_default(self, signed_in, models):
        assert names(signed_in.get(project_url(models["a"].project))) == ["d v1", "c v1", "b v1", "a v1"]

    def test_a_header_link_sorts_and_a_second_click_reverses(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, "col=metrics.accuracy&page=2"))
        header = next(h for h in response.context["headers"] if h["name"] == "metrics.accuracy")
        assert "ordering=-metrics.accuracy" in header["url"] and "page=" not in header["url"]
        assert "col=metrics.accuracy" in header["url"]
        response = signed_in.get(project_url(models["a"].project, "col=metrics.accuracy&ordering=-metrics.accuracy"))
        header = next(h for h in response.context["headers"] if h["name"] == "metrics.accuracy")
        assert header["direction"] == "descending" and "ordering=metrics.accuracy" in header["url"]
        assert b'aria-sort="descending"' in response.content


class TestFilterPanel:
    def test_min_and_max_bound_a_number_key(self, signed_in, models):
        project = models["a"].project
        assert sorted(names(signed_in.get(project_url(project, "min.metrics.accuracy=0.85")))) == ["a v1", "b v1"]
        response = signed_in.get(project_url(project, "min.metrics.accuracy=0.85&max.m.accuracy=0.92"))
        assert names(response) == ["a v1"]

    def test_numbers_compare_as_numbers_and_other_types_never_match(self, signed_in, models):
        # d's lr is the string "auto": neither above nor below any number.
        response = signed_in.get(project_url(models["a"].project, "min.hyperparameters.lr=0.005"))
        assert sorted(names(response)) == ["a v1", "c v1"]
        response = signed_in.get(project_url(models["a"].project, "max.hyperparameters.lr=0.005"))
        assert names(response) == ["b v1"]

    def test_exact_value_for_a_text_key(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, "eq.hp.optimizer=adam"))
        assert sorted(names(response)) == ["a v1", "c v1"]

    def test_true_or_false_for_a_boolean_key(self, signed_in, models):
        assert names(signed_in.get(project_url(models["a"].project, "eq.hp.mixup=true"))) == ["c v1"]

    def test_a_bound_that_is_not_a_number_is_shown_as_an_error(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, "min.metrics.accuracy=lots"))
        assert names(response) == []
        assert "metrics.accuracy: “lots” is not a number." in response.content.decode()

    def test_active_filters_show_as_removable_chips(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, "min.metrics.accuracy=0.85&eq.hp.optimizer=adam"))
        chips = dict(response.context["chips"])
        assert set(chips) == {"metrics.accuracy ≥ 0.85", 'hyperparameters.optimizer = "adam"'}
        assert "min.metrics.accuracy" not in chips["metrics.accuracy ≥ 0.85"]
        assert "eq.hp.optimizer=adam" in chips["metrics.accuracy ≥ 0.85"]

    def test_the_panel_keeps_what_was_typed(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, "min.metrics.accuracy=0.123456789"))
        assert b'name="min.metrics.accuracy" value="0.123456789"' in response.content

    def test_dates_bound_the_creation_day(self, signed_in, models):
        project = models["a"].project
        today = models["a"].created.date().isoformat()
        assert len(names(signed_in.get(project_url(project, f"created_after={today}&created_before={today}")))) == 4
        assert names(signed_in.get(project_url(project, "created_before=2000-01-01"))) == []
        response = signed_in.get(project_url(project, "created_after=yesterday"))
        assert "Created after: give a date as YYYY-MM-DD." in response.content.decode()

    def test_values_and_keys_with_quotes_and_backslashes_match_exactly(self, signed_in, project, bob):
        odd = 'say "hi" \\ `now`\tthen'
        upload(bob, project, name="odd", hyperparameters={"we`ird key": odd}, metrics={"ok": 1})
        upload(bob, project, name="plain", hyperparameters={"we`ird key": "say"}, metrics={"ok": 1})
        from urllib.parse import urlencode

        response = signed_in.get(project_url(project, urlencode({"eq.hyperparameters.we`ird key": odd})))
        assert names(response) == ["odd v1"] and response.context["query_errors"] == []


class TestFilterSetFilters:
    """The fixed filters are MLModelFilterSet's own, the same query string as the API's."""

    def test_uploader(self, signed_in, models, bob):
        assert sorted(names(signed_in.get(project_url(models["a"].project, f"user={bob.pk}")))) == ["a v1", "b v1"]

    def test_tag(self, signed_in, models):
        assert names(signed_in.get(project_url(models["a"].project, "tag=prod"))) == ["c v1"]

    def test_name_search(self, signed_in, models):
        assert names(signed_in.get(project_url(models["a"].project, "search=B"))) == ["b v1"]

    def test_project_and_workspace_on_the_models_page(self, signed_in, models, alice):
        other = services.project_create(user=alice, workspace=models["a"].project.workspace, name="other")
        upload(alice, other, name="elsewhere")
        assert names(signed_in.get(f"/models/?project={other.pk}")) == ["elsewhere v1"]
        assert len(names(signed_in.get(f"/models/?workspace={other.workspace_id}"))) == 5
        assert names(signed_in.get("/models/?workspace=999")) == []

    def test_a_malformed_filter_shows_its_error_and_no_rows(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, "user=bob"))
        assert names(response) == []
        assert "Enter whole numbers separated by commas." in response.content.decode()

    def test_the_query_box_takes_the_search_language(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, 'q=metrics.accuracy > 0.85 and hp.optimizer = "sgd"'))
        assert names(response) == ["b v1"]

    def test_the_query_box_and_the_panel_combine(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, 'q=hp.optimizer = "adam"&min.metrics.accuracy=0.85'))
        assert names(response) == ["a v1"]

    def test_a_malformed_query_shows_its_error_inline(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, "q=metrics.accuracy >"))
        assert names(response) == [] and response.status_code == 200
        assert "offset" in " ".join(response.context["query_errors"])


class TestPagination:
    def test_page_links_keep_the_whole_view(self, signed_in, project, bob):
        for i in range(30):
            upload(bob, project, name=f"m{i:02}", metrics={"accuracy": i / 100})
        url = project_url(project, "per_page=25&col=metrics.accuracy&ordering=-metrics.accuracy&min.m.accuracy=0.01")
        response = signed_in.get(url)
        assert len(response.context["rows"]) == 25 and response.context["paginator"].count == 29
        assert (
            'href="?per_page=25&amp;col=metrics.accuracy&amp;ordering=-metrics.accuracy&amp;min.m.accuracy=0.01&amp;page=2"'
            in response.content.decode()
        )
        second = signed_in.get(url + "&page=2")
        assert names(second) == ["m04 v1", "m03 v1", "m02 v1", "m01 v1"]

    def test_rows_per_page_is_one_of_the_choices(self, signed_in, models):
        assert signed_in.get(project_url(models["a"].project, "per_page=7")).context["state"].per_page == 50


class TestExports:
    def test_csv_has_every_row_of_the_view_in_order_with_its_columns(self, signed_in, project, bob):
        for i in range(60):
            upload(bob, project, name=f"m{i:02}", metrics={"accuracy": i / 100}, tags=["t"])
        response = signed_in.get(project_url(project, "col=metrics.accuracy&ordering=metrics.accuracy&format=csv"))
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"] == 'attachment; filename="resnets-models.csv"'
        rows = csv_rows(response)
        assert len(rows) == 60 and rows[0]["name"] == "m00" and rows[-1]["name"] == "m59"
        assert rows[1]["metrics.accuracy"] == "0.01" and rows[1]["tags"] == "t" and rows[1]["uploader"] == "bob"

    def test_csv_cells_never_start_a_formula(self, signed_in, project, bob):
        upload(bob, project, name="=HYPERLINK(1)", hyperparameters={"note": "+cmd", "neg": -1})
        rows = csv_rows(signed_in.get(project_url(project, "col=hp.note&col=hp.neg&format=csv")))
        assert rows[0]["name"] == "'=HYPERLINK(1)" and rows[0]["hyperparameters.note"] == "'+cmd"
        assert rows[0]["hyperparameters.neg"] == "-1"

    def test_chart_axes_default_to_a_hyperparameter_and_a_metric(self, signed_in, project, bob):
        upload(bob, project, name="a", hyperparameters={"lr": 0.1}, metrics={"acc": 0.5})
        data = signed_in.get(project_url(project, "format=chart")).json()
        assert (data["x"], data["y"]) == ("hyperparameters.lr", "metrics.acc")


class TestEscaping:
    def test_names_keys_values_and_tags_are_escaped(self, signed_in, project, bob):
        evil = "<script>alert(1)</script>"
        upload(bob, project, name=evil, metrics={evil: 1, "x": 0}, hyperparameters={"h": evil}, tags=[evil])
        response = signed_in.get(project_url(project, f"col=metrics.{evil}&col=hp.h"))
        assert evil.encode() not in response.content
        assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content

    def test_a_hostile_query_string_is_escaped_in_the_page(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, 'search="><script>x</script>'))
        assert b"<script>x</script>" not in response.content


class TestSecurityHeaders:
    def test_pages_send_csp_frame_and_nosniff_headers(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project))
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy

    def test_the_page_loads_nothing_from_other_hosts(self, signed_in, models):
        content = signed_in.get(project_url(models["a"].project)).content.decode()
        assert "http://" not in content and "https://" not in content.replace("https://github.com/acme/resnets", "")


# On PostgreSQL the last view's upsert runs in a transaction of its own with synchronous_commit off
# (saved_views.services): in a test, a savepoint, the SET and the savepoint's release.
LAST_VIEW_WRAPPER = 3 if connection.vendor == "postgresql" else 0


class TestQueryCounts:
    """The table pages make the same number of queries whatever the number of rows or columns."""

    def seed(self, project, bob, count):
        for i in range(count):
            upload(
                bob, project, name=f"m{i}", metrics={"accuracy": i, "f1": i}, hyperparameters={"lr": i}, tags=["a", "b"]
            )

    @pytest.mark.parametrize("count", [3, 30])
    def test_project_page(self, signed_in, project, bob, count, django_assert_num_queries):
        self.seed(project, bob, count)
        url = project_url(project, "col=metrics.accuracy&col=hp.lr&ordering=-metrics.accuracy&min.m.f1=1&per_page=100")
        signed_in.get(url)
        # session, user, project, key counts, count, rows, tags, role, uploaders, tag names, and the
        # saved views: role for the project's default, the views, the last view kept (one upsert);
        # the header's Upload reuses the page's role (a member here), so no query of its own
        with django_assert_num_queries(13 + LAST_VIEW_WRAPPER):
            response = signed_in.get(url)
        assert len(response.context["rows"]) == count - 1

    @pytest.mark.parametrize("count", [3, 30])
    def test_models_page(self, signed_in, project, bob, count, django_assert_num_queries):
        self.seed(project, bob, count)
        url = "/models/?col=metrics.accuracy&ordering=-metrics.accuracy&per_page=100"
        signed_in.get(url)
        # session, user, key counts, count, rows, tags, uploaders, tag names, projects, workspaces,
        # whether the user uploads anywhere (the header's Upload)
        with django_assert_num_queries(11):
            response = signed_in.get(url)
        assert len(response.context["rows"]) == count

    def test_the_first_visit_reads_the_keys_once(self, signed_in, project, bob, django_assert_num_queries):
        self.seed(project, bob, 5)
        # No cache to fill: one aggregate of the key counts; and no last or default view to restore (2).
        with django_assert_num_queries(15 + LAST_VIEW_WRAPPER):
            signed_in.get(project_url(project))


@on_postgresql
class TestSortIndexes:
    """A page sorted by a common numeric key reads that key's index (`manage.py search_indexes`) in
    order, lowest or highest first, instead of sorting every model of the project."""

    @pytest.fixture
    def indexed(self, project, bob):
        for i in range(4):
            upload(bob, project, name=f"m{i}", metrics={"accuracy": i / 10})
        call_command("search_indexes", "--min-share", "0.5", stdout=io.StringIO())
        yield indexes.KeyIndex("metrics", "accuracy", 0)
        # CREATE INDEX CONCURRENTLY cannot run in a test's transaction, so these tests commit: clean up.
        with connection.cursor() as cursor:
            for name in [*indexes.existing(), *indexes.existing(descending=True)]:
                cursor.execute(indexes.drop_sql(name))

    def plan(self, client, url: str) -> str:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        (page,) = [q["sql"] for q in queries if "ORDER BY" in q["sql"] and '"registry_mlmodel"."metrics"' in q["sql"]]
        with connection.cursor() as cursor:
            # The table is tiny: make the planner show whether an index can give the order.
            cursor.execute("SET enable_seqscan = off; SET enable_sort = off")
            try:
                cursor.execute("EXPLAIN " + page)
                return "\n".join(row[0] for row in cursor.fetchall())
            finally:
                cursor.execute("RESET enable_seqscan; RESET enable_sort")

    @pytest.mark.django_db(transaction=True)
    def test_highest_first_reads_the_descending_index(self, signed_in, project, indexed):
        url = project_url(project, "ordering=-metrics.accuracy")
        # the project's index, or the one across projects (indexes.py), whichever the planner prices lower
        assert re.search(rf"Index Scan using {indexed.name}(_all)?_desc on", self.plan(signed_in, url))
        assert names(signed_in.get(url)) == ["m3 v1", "m2 v1", "m1 v1", "m0 v1"]

    @pytest.mark.django_db(transaction=True)
    def test_lowest_first_reads_the_ascending_index(self, signed_in, project, indexed):
        url = project_url(project, "ordering=metrics.accuracy&min.m.accuracy=0.1")
        assert re.search(rf"Index Scan using {indexed.name}(_all)? on", self.plan(signed_in, url))
        assert names(signed_in.get(url)) == ["m1 v1", "m2 v1", "m3 v1"]


def header_names(response) -> list[str]:
    """The columns after the name, in order (the phone's copies aside)."""
    return [h["name"] for h in response.context["headers"] if h["place"] != "col-phone"]


class TestColumnOrder:
    """`col=` orders keys and fixed columns alike; `hide=` hides fixed ones (table_state.py)."""

    def test_older_links_show_the_fixed_columns_first(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, "col=m.loss&col=hp.lr"))
        assert header_names(response) == ["version", "user", "created", "tags", "metrics.loss", "hyperparameters.lr"]

    def test_col_orders_fixed_columns_and_keys_together_and_hides_the_fixed_ones_it_leaves_out(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, "col=m.loss&col=created&col=hp.lr&col=version"))
        assert header_names(response) == ["metrics.loss", "created", "hyperparameters.lr", "version"]
        assert response.context["state"].hidden == ["user", "tags", "format", "format.params", "format.verdict"]
        row = next(r for r in response.context["rows"] if r.model.name == "c")
        html = str(row.cells_html)
        assert html.index(">0.3<") < html.index("<time") < html.index(">0.1<")

    def test_hide_hides_fixed_columns_even_when_col_names_none(self, signed_in, models):
        """Sorted by name: the default sort (newest first) would bring `created` back."""
        response = signed_in.get(
            project_url(models["a"].project, "col=m.loss&hide=version&hide=user&hide=created&hide=tags&ordering=name")
        )
        assert header_names(response) == ["metrics.loss"]
        assert "Uploader" not in [h["label"] for h in response.context["headers"]]
        assert b"Alice</td>" not in response.content

    def test_the_sorted_key_is_shown_even_when_not_chosen(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, "col=m.loss&ordering=-hp.lr"))
        assert response.context["state"].columns == ["metrics.loss", "hyperparameters.lr"]

    def test_a_hidden_fixed_column_comes_back_when_the_table_is_sorted_by_it(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, "col=m.loss&col=version&ordering=user"))
        assert "user" in header_names(response)
        assert response.context["state"].hidden == ["created", "tags", "format", "format.params", "format.verdict"]

    def test_on_phones_the_keys_come_before_the_fixed_columns_placed_ahead_of_them(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, "col=version&col=m.loss&col=created"))
        places = [(h["name"], h["place"]) for h in response.context["headers"]]
        # version is before a key: hidden in place on a phone (col-wide) and shown after the keys
        assert places == [("version", "col-wide"), ("metrics.loss", ""), ("created", ""), ("version", "col-phone")]
        html = str(next(r for r in response.context["rows"] if r.model.name == "d").cells_html)
        assert html.startswith('<td class="num col-wide">1</td>') and html.endswith('<td class="num col-phone">1</td>')

    def test_the_chooser_lists_the_shown_columns_in_order_then_the_hidden_ones(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, "col=m.loss&col=created"))
        chooser = [(c["name"], c["shown"]) for c in response.context["chooser"]]
        assert chooser == [
            ("metrics.loss", True),
            ("created", True),
            ("version", False),
            ("user", False),
            ("tags", False),
            ("format", False),
            ("format.params", False),
            ("format.verdict", False),
        ]
        # A shown key is offered once, in the ordered list, not again in its section.
        assert response.content.decode().count('name="col" value="metrics.loss"') == 1

    def test_the_models_view_ticks_its_shown_keys_in_the_chooser(self, signed_in, models):
        """Its table has no ordered list (registered_models.py): the sections keep the ticks."""
        html = signed_in.get(f"/projects/{models['a'].project.pk}/models/?col=m.loss").content.decode()
        assert '<input type="checkbox" name="col" value="metrics.loss" checked>' in html
        assert 'id="column-order"' not in html

    def test_the_models_page_orders_its_project_column_too(self, signed_in, models):
        response = signed_in.get("/models/?col=project&col=m.loss&ordering=name")
        assert header_names(response) == ["project", "metrics.loss"]


class TestRememberedViews:
    """The last view of a project comes back through a link without view parameters (saved_views)."""

    def test_the_breadcrumb_link_brings_back_the_last_view(self, signed_in, models):
        project = models["a"].project
        chosen = "col=hp.lr&col=hp.optimizer&col=m.accuracy&col=m.loss&hide=user"
        signed_in.get(project_url(project, chosen))
        model_page = signed_in.get(f"/models/{models['a'].pk}/").content.decode()
        assert f'<a href="/projects/{project.pk}/">' in model_page  # the breadcrumb: no view parameters
        response = signed_in.get(project_url(project))
        assert response.status_code == 302 and response["Location"] == f"/projects/{project.pk}/?{chosen}"
        shown = signed_in.get(response["Location"])
        assert header_names(shown) == [
            "version",
            "created",
            "tags",
            "hyperparameters.lr",
            "hyperparameters.optimizer",
            "metrics.accuracy",
            "metrics.loss",
        ]

    def test_the_page_number_and_exports_are_not_part_of_a_view(self, signed_in, models):
        project = models["a"].project
        signed_in.get(project_url(project, "col=m.loss&page=1"))
        signed_in.get(project_url(project, "col=hp.lr&format=csv"))
        assert signed_in.get(project_url(project))["Location"] == f"/projects/{project.pk}/?col=m.loss"

    def test_each_user_has_their_own_last_view(self, client, alice, bob, models):
        project = models["a"].project
        client.force_login(alice)
        client.get(project_url(project, "col=m.loss"))
        client.force_login(bob)
        assert client.get(project_url(project)).status_code == 200  # no view of Bob's: the default

    def test_reset_shows_the_default_and_is_remembered(self, signed_in, models):
        project = models["a"].project
        signed_in.get(project_url(project, "col=m.loss"))
        response = signed_in.get(project_url(project, "view=default"))
        assert response.status_code == 200 and len(response.context["state"].columns) == 4
        assert signed_in.get(project_url(project)).status_code == 200

    def test_the_filter_panel_reset_is_the_default_view(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, "col=m.loss"))
        assert 'href="?view=default">Reset</a>' in response.content.decode()

    def test_clearing_the_filters_keeps_the_columns(self, signed_in, models):
        response = signed_in.get(project_url(models["a"].project, "col=m.loss&q=m.loss+%3E+5&ordering=name"))
        assert response.context["state"].view_url() == "?col=m.loss&ordering=name"


class TestVersionsList:
    """A model page's versions list shows the metric columns of the user's view of the project."""

    @pytest.fixture
    def versions(self, project, bob):
        return [
            upload(bob, project, name="net", hyperparameters={"lr": 0.1}, metrics={"accuracy": 0.5, "loss": 2.0}),
            upload(bob, project, name="net", hyperparameters={"lr": 0.2}, metrics={"accuracy": 0.75, "f1": 0.7}),
        ]

    def test_it_shows_the_metrics_of_the_last_view(self, signed_in, project, versions):
        signed_in.get(project_url(project, "col=hp.lr&col=m.loss&col=m.accuracy"))
        response = signed_in.get(f"/models/{versions[0].pk}/")
        assert response.context["version_columns"] == ["loss", "accuracy"]
        html = response.content.decode()
        assert '<td class="num" title="2.0">2</td><td class="num">0.5</td>' in html
        assert '<td><span class="missing" aria-label="none">\N{EN DASH}</span></td><td class="num">0.75</td>' in html

    def test_without_a_view_it_shows_the_metrics_most_versions_hold(self, signed_in, project, versions):
        response = signed_in.get(f"/models/{versions[0].pk}/")
        assert response.context["version_columns"] == ["accuracy", "f1", "loss"]

"""Web UI: a project's Models view, the registered-model page (card, aliases, versions, timeline),
its card form, and what a version's page shows of its registered model.

Alice owns the workspace, Bob is a member, Carol a viewer, Eve an outsider (see conftest.py).
"""

import pytest
from django.urls import reverse

from events.models import Event
from registry import services
from registry.models import RegisteredModel
from registry.tests.factories import upload


@pytest.fixture
def catalog(project, alice, bob):
    """resnet50 v1-v3 (v3 Bob's private one), vit v1, and @production on resnet50 v1."""
    versions = [
        upload(bob, project, name="resnet50", metrics={"accuracy": 0.90, "loss": 0.5}),
        upload(bob, project, name="resnet50", metrics={"accuracy": 0.93, "loss": 0.4}, tags=["cnn"]),
        upload(bob, project, name="resnet50", metrics={"accuracy": 0.99}, private=True),
        upload(alice, project, name="vit", metrics={"accuracy": 0.80}),
    ]
    resnet = RegisteredModel.objects.get(project=project, name="resnet50")
    services.alias_set(registered_model=resnet, name="production", version=1, user=alice)
    return {"resnet": resnet, "vit": RegisteredModel.objects.get(project=project, name="vit"), "versions": versions}


def as_user(client, user):
    client.force_login(user)
    return client


def models_url(project, query: str = "") -> str:
    return reverse("registry:registered_model_list", args=[project.pk]) + (f"?{query}" if query else "")


def page_url(registered, query: str = "") -> str:
    return reverse("registry:registered_model_detail", args=[registered.pk]) + (f"?{query}" if query else "")


def listed(response) -> dict[str, dict]:
    """The Models view's rows by name: latest version, count, aliases, the values shown."""
    return {
        item["registered"].name: {
            "latest": item["registered"].latest_version,
            "count": item["registered"].version_count,
            "aliases": {a.name: a.version_number for a in item["registered"].visible_aliases},
            "shown": item["shown"].model.version if item["shown"] else None,
            "cells": str(item["cells_html"]),
        }
        for item in response.context["items"]
    }


class TestTheModelsView:
    def test_it_sends_anonymous_visitors_to_sign_in(self, client, project):
        response = client.get(models_url(project))
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))

    def test_an_outsider_gets_404(self, client, eve, project, catalog):
        assert as_user(client, eve).get(models_url(project)).status_code == 404

    @pytest.mark.parametrize("who", ["alice", "carol"])
    def test_it_has_one_row_per_registered_model_with_what_the_member_sees(
        self, client, request, project, catalog, who
    ):
        response = as_user(client, request.getfixturevalue(who)).get(models_url(project, "col=metrics.accuracy"))
        assert response.status_code == 200
        # Bob's private v3 is not theirs to see: the latest they see is v2, of two versions.
        rows = listed(response)
        cells = {name: row.pop("cells") for name, row in rows.items()}
        assert rows == {
            "resnet50": {"latest": 2, "count": 2, "aliases": {"production": 1}, "shown": 2},
            "vit": {"latest": 1, "count": 1, "aliases": {}, "shown": 1},
        }
        assert ">0.93<" in cells["resnet50"] and ">0.8<" in cells["vit"]
        page = response.content.decode()
        assert f'href="{page_url(catalog["resnet"])}"' in page
        assert "@production" in page

    def test_the_uploader_of_a_private_version_sees_it_as_the_latest(self, client, bob, project, catalog):
        rows = listed(as_user(client, bob).get(models_url(project, "col=metrics.accuracy")))
        assert rows["resnet50"]["latest"] == 3 and rows["resnet50"]["count"] == 3
        assert ">0.99<" in rows["resnet50"]["cells"]

    def test_a_model_of_someone_elses_private_versions_only_is_not_listed(self, client, alice, bob, project, catalog):
        upload(bob, project, name="secret-net", private=True)
        assert "secret-net" not in listed(as_user(client, alice).get(models_url(project)))
        assert "secret-net" in listed(as_user(client, bob).get(models_url(project)))

    def test_values_of_an_alias_show_the_version_it_names(self, client, alice, project, catalog):
        response = as_user(client, alice).get(models_url(project, "col=metrics.accuracy&of=production"))
        rows = listed(response)
        assert rows["resnet50"]["shown"] == 1 and ">0.9<" in rows["resnet50"]["cells"]
        assert rows["vit"]["shown"] is None and "0.8" not in rows["vit"]["cells"]  # no @production
        assert response.context["shown_alias"] == "production"

    def test_a_malformed_alias_is_said_and_the_latest_is_shown(self, client, alice, project, catalog):
        response = as_user(client, alice).get(models_url(project, "of=Not%20An%20Alias"))
        assert response.context["query_errors"] == [
            "Values of: 'Not An Alias' is not an alias name (an alias is lower-case letters, digits, '-' and '_', "
            "starting with a letter or digit, at most 64 characters)."
        ]
        assert listed(response)["resnet50"]["shown"] == 2

    def test_the_versions_tables_filters_narrow_it_to_models_with_a_matching_version(
        self, client, alice, project, catalog
    ):
        response = as_user(client, alice).get(models_url(project, "q=metrics.accuracy%20%3E%3D%200.9"))
        assert list(listed(response)) == ["resnet50"]
        assert response.context["narrowed_by_versions"] == ["q"]
        assert list(listed(as_user(client, alice).get(models_url(project, "tag=cnn")))) == ["resnet50"]
        assert list(listed(as_user(client, alice).get(models_url(project, "search=vi")))) == ["vit"]

    def test_a_private_versions_values_do_not_select_its_model_for_others(self, client, alice, project, catalog):
        """Only Bob's private v3 has accuracy 0.99: for Alice nothing matches."""
        response = as_user(client, alice).get(models_url(project, "min.metrics.accuracy=0.95"))
        assert listed(response) == {}

    def test_a_malformed_query_is_said_and_lists_nothing(self, client, alice, project, catalog):
        response = as_user(client, alice).get(models_url(project, "q=metrics.accuracy%20%3E"))
        assert listed(response) == {} and response.context["query_errors"][0].startswith("Query: ")

    def test_it_sorts_by_name_latest_version_count_and_back(self, client, alice, bob, project, catalog):
        upload(bob, project, name="alexnet")
        client = as_user(client, alice)
        assert list(listed(client.get(models_url(project)))) == ["alexnet", "resnet50", "vit"]
        assert list(listed(client.get(models_url(project, "models_ordering=-versions")))) == [
            "resnet50",
            "alexnet",
            "vit",
        ]
        assert list(listed(client.get(models_url(project, "models_ordering=-name")))) == ["vit", "resnet50", "alexnet"]
        # Unknown orderings fall back to the name.
        assert list(listed(client.get(models_url(project, "models_ordering=file")))) == ["alexnet", "resnet50", "vit"]

    def test_a_header_link_sorts_and_keeps_the_rest_of_the_view(self, client, alice, project, catalog):
        response = as_user(client, alice).get(models_url(project, "col=metrics.loss&q=name%20%3D%20%22vit%22&page=1"))
        latest = next(h for h in response.context["headers"] if h["label"] == "Latest")
        assert latest["url"] == "?col=metrics.loss&q=name+%3D+%22vit%22&models_ordering=-latest"

    def test_the_view_switch_keeps_the_query_string(self, client, alice, project, catalog):
        query = "col=metrics.loss&ordering=-metrics.accuracy&min.metrics.accuracy=0.5"
        page = as_user(client, alice).get(models_url(project, query + "&page=1")).content.decode()
        assert f'href="/projects/{project.pk}/?{query.replace("&", "&amp;")}"' in page
        page = client.get(f"/projects/{project.pk}/?{query}").content.decode()
        assert f'href="/projects/{project.pk}/models/?{query.replace("&", "&amp;")}"' in page

    def test_its_form_keeps_the_versions_tables_parameters(self, client, alice, project, catalog):
        response = as_user(client, alice).get(models_url(project, "q=tag%3D%22cnn%22&ordering=-created&of=production"))
        assert response.context["kept_params"] == [("q", 'tag="cnn"'), ("ordering", "-created")]

    def test_names_and_aliases_are_escaped(self, client, alice, bob, project):
        upload(bob, project, name="<b>bold</b>")
        page = as_user(client, alice).get(models_url(project)).content.decode()
        assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page

    @pytest.mark.parametrize("count", [3, 30])
    def test_a_page_costs_the_same_queries_whatever_its_rows(
        self, client, alice, bob, project, count, django_assert_num_queries
    ):
        for i in range(count):
            model = upload(bob, project, name=f"m{i}", metrics={"accuracy": i})
            services.alias_set(registered_model=model.registered_model, name="production", version=1, user=bob)
        client = as_user(client, alice)
        url = models_url(project, "col=metrics.accuracy&of=production&per_page=100")
        client.get(url)
        # session, user, project, key counts, total, the rows, their aliases, the shown versions,
        # the alias names of the project, the upload button's role
        with django_assert_num_queries(10):
            response = client.get(url)
        assert len(response.context["items"]) == count


class TestTheRegisteredModelPage:
    def test_it_sends_anonymous_visitors_to_sign_in(self, client, catalog):
        response = client.get(page_url(catalog["resnet"]))
        assert response.status_code == 302

    @pytest.mark.parametrize("who", ["alice", "bob", "carol"])
    def test_members_see_its_card_aliases_versions_and_timeline(self, client, request, catalog, who):
        services.registered_model_update(
            registered_model=catalog["resnet"],
            user=request.getfixturevalue("alice"),
            description="## Trained on *ImageNet*",
        )
        response = as_user(client, request.getfixturevalue(who)).get(
            page_url(catalog["resnet"], "col=metrics.accuracy")
        )
        assert response.status_code == 200
        page = response.content.decode()
        assert "<h4>Trained on <em>ImageNet</em></h4>" in page
        assert [alias.name for alias in response.context["aliases"]] == ["production"]
        assert "Vision/resnets/resnet50" in page  # the reference to copy
        versions = [row.model.version for row in response.context["version_rows"]]
        assert versions == ([3, 2, 1] if who == "bob" else [2, 1])
        assert ">0.93<" in page and "@production" in page
        assert "Changed the model card of resnet50" in page and "Pointed @production of resnet50 at v1" in page

    def test_an_outsider_gets_404(self, client, eve, catalog):
        assert as_user(client, eve).get(page_url(catalog["resnet"])).status_code == 404

    def test_a_model_of_someone_elses_private_versions_only_is_404(self, client, alice, bob, project):
        secret = upload(bob, project, name="secret-net", private=True).registered_model
        assert as_user(client, alice).get(page_url(secret)).status_code == 404
        assert as_user(client, bob).get(page_url(secret)).status_code == 200

    def test_a_model_whose_versions_are_all_deleted_is_404(self, client, alice, catalog, project):
        vit = catalog["vit"]
        services.registered_model_delete(registered_model=vit, user=alice)
        assert as_user(client, alice).get(page_url(vit)).status_code == 404

    def test_the_timeline_hides_events_of_private_versions_from_others(self, client, alice, bob, catalog):
        alice_page = as_user(client, alice).get(page_url(catalog["resnet"])).content.decode()
        assert "Uploaded resnet50 v2" in alice_page and "resnet50 v3" not in alice_page
        bob_page = as_user(client, bob).get(page_url(catalog["resnet"])).content.decode()
        assert "Uploaded resnet50 v3 (private)" in bob_page

    def test_the_timeline_is_paginated_newest_first(self, client, alice, catalog):
        for i in range(25):
            services.registered_model_update(registered_model=catalog["resnet"], user=alice, description=f"card {i}")
        client = as_user(client, alice)
        first = client.get(page_url(catalog["resnet"], "col=metrics.loss"))
        events = [entry.event for entry in first.context["timeline"].entries]
        assert len(events) == 20 and events[0].after == {"description": "card 24"}
        assert first.context["timeline"].next_url == "?col=metrics.loss&events_page=2"
        second = client.get(page_url(catalog["resnet"], "col=metrics.loss&events_page=2"))
        older = [entry.event for entry in second.context["timeline"].entries]
        assert older[0].after == {"description": "card 4"} and older[-1].kind == "registered_model.created"
        assert second.context["timeline"].previous_url == "?col=metrics.loss"

    def test_timeline_entries_link_to_what_the_user_may_open(self, client, alice, catalog):
        entries = as_user(client, alice).get(page_url(catalog["resnet"])).context["timeline"].entries
        by_kind = {entry.event.kind: entry.url for entry in entries}
        assert by_kind["alias.set"] == f"/models/{catalog['versions'][0].pk}/"
        assert by_kind["registered_model.created"] == page_url(catalog["resnet"])

    def test_the_versions_are_paginated(self, client, alice, bob, catalog, project):
        for _ in range(3):
            upload(bob, project, name="vit")
        response = as_user(client, alice).get(page_url(catalog["vit"], "per_page=25"))
        assert [row.model.version for row in response.context["version_rows"]] == [4, 3, 2, 1]

    def test_it_has_a_place_for_promotions(self):
        """The promotion requests and their buttons are added there by a later part of issue 14."""
        with open("templates/registry/registered_model_detail.html") as template:
            assert "{% block promotions %}" in template.read()


class TestTheCardForm:
    def url(self, registered):
        return reverse("registry:registered_model_description", args=[registered.pk])

    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_owners_and_members_change_the_card(self, client, request, catalog, who):
        user = request.getfixturevalue(who)
        text = "# ResNet-50\n\nTop-1 **76 %**.\n"
        response = as_user(client, user).post(self.url(catalog["resnet"]), {"description": text})
        assert response.status_code == 302 and response["Location"] == page_url(catalog["resnet"]) + "#card"
        catalog["resnet"].refresh_from_db()
        assert catalog["resnet"].description == text
        event = Event.objects.filter(kind="registered_model.updated").get()
        assert event.actor_id == user.pk and event.after == {"description": text}
        page = client.get(page_url(catalog["resnet"])).content.decode()
        assert "<h3>ResNet-50</h3>" in page and "<strong>76 %</strong>" in page

    def test_the_edit_form_shows_to_writers_only(self, client, alice, carol, catalog):
        assert "Edit the model card" in as_user(client, alice).get(page_url(catalog["resnet"])).content.decode()
        assert "Edit the model card" not in as_user(client, carol).get(page_url(catalog["resnet"])).content.decode()

    def test_a_viewer_gets_403_and_nothing_changes(self, client, carol, catalog):
        response = as_user(client, carol).post(self.url(catalog["resnet"]), {"description": "mine"})
        assert response.status_code == 403
        catalog["resnet"].refresh_from_db()
        assert catalog["resnet"].description == ""
        assert not Event.objects.filter(kind="registered_model.updated").exists()

    def test_an_outsider_gets_404(self, client, eve, catalog):
        assert as_user(client, eve).post(self.url(catalog["resnet"]), {"description": "x"}).status_code == 404

    def test_a_card_the_model_refuses_is_a_400_naming_it_and_nothing_changes(self, client, alice, catalog):
        services.registered_model_update(registered_model=catalog["resnet"], user=alice, description="kept")
        response = as_user(client, alice).post(self.url(catalog["resnet"]), {"description": "bad \x00 byte"})
        assert response.status_code == 400
        assert response.context["description_form"].errors["description"]
        assert "<p>kept</p>" in response.content.decode()  # the stored card, not the refused text
        catalog["resnet"].refresh_from_db()
        assert catalog["resnet"].description == "kept"

    def test_a_card_with_html_and_script_links_is_stored_as_written_and_shown_as_text(self, client, alice, catalog):
        text = '<script>alert(1)</script> <img src=x onerror="alert(2)"> [x](javascript:alert(3))'
        as_user(client, alice).post(self.url(catalog["resnet"]), {"description": text})
        catalog["resnet"].refresh_from_db()
        assert catalog["resnet"].description == text
        card = str(client.get(page_url(catalog["resnet"])).context["card"])
        assert "<script" not in card and "<img" not in card and "href" not in card
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card

    def test_a_browsers_crlf_lines_are_stored_as_lf(self, client, alice, catalog):
        as_user(client, alice).post(self.url(catalog["resnet"]), {"description": "# A\r\n\r\ntext\r\n"})
        catalog["resnet"].refresh_from_db()
        assert catalog["resnet"].description == "# A\n\ntext\n"

    def test_get_is_not_allowed(self, client, alice, catalog):
        assert as_user(client, alice).get(self.url(catalog["resnet"])).status_code == 405


class TestTheVersionPage:
    def test_it_shows_its_aliases_and_links_its_registered_model(self, client, alice, catalog):
        page = as_user(client, alice).get(f"/models/{catalog['versions'][0].pk}/").content.decode()
        assert "@production" in page
        assert f'<a href="{page_url(catalog["resnet"])}">resnet50</a>' in page

    def test_its_timeline_has_its_own_events(self, client, alice, catalog):
        v1 = catalog["versions"][0]
        services.model_update(model=v1, user=alice, metrics={"accuracy": 0.91})
        services.registered_model_update(registered_model=catalog["resnet"], user=alice, description="card")
        response = as_user(client, alice).get(f"/models/{v1.pk}/")
        kinds = [entry.event.kind for entry in response.context["timeline"].entries]
        # Newest first; the card's change is the registered model's, on its page.
        assert kinds[:3] == ["model.updated", "alias.set", "model.created"]
        assert "registered_model.updated" not in kinds
        assert "Changed metrics of resnet50 v1" in response.content.decode()

    def test_another_users_private_version_stays_404(self, client, alice, catalog):
        assert as_user(client, alice).get(f"/models/{catalog['versions'][2].pk}/").status_code == 404


def test_the_reference_to_copy_escapes_the_separators_in_names(client, alice, bob, project):
    from registry import references

    registered = upload(bob, project, name="bert:base@v2").registered_model
    response = as_user(client, alice).get(page_url(registered))
    assert response.context["reference"] == "Vision/resnets/bert%3Abase%40v2"
    assert references.parse(response.context["reference"]).name == "bert:base@v2"

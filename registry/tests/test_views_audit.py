"""Web UI: a workspace's audit page (`/workspaces/<id>/audit/`), its filters, and who sees what.

Alice owns the workspace, Bob is a member, Carol a viewer, Eve an outsider (see conftest.py).
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts import services as account_services
from events.models import Event
from registry import services
from registry.models import Role
from registry.tests.factories import upload


@pytest.fixture
def history(workspace, project, alice, bob, eve):
    """Uploads, an alias, a card change, a private upload of Bob's, a token of Bob's, and events
    of another workspace (Eve's)."""
    resnet = upload(bob, project, name="resnet50")
    vit = upload(alice, project, name="vit")
    services.alias_set(registered_model=resnet.registered_model, name="production", version=1, user=alice)
    services.registered_model_update(registered_model=vit.registered_model, user=alice, description="card")
    secret = upload(bob, project, name="secret-net", private=True)
    account_services.api_token_create(user=bob, name="CI")
    other = services.workspace_create(user=eve, name="Elsewhere")
    services.project_create(user=eve, workspace=other, name="hidden")
    return {"resnet": resnet, "vit": vit, "secret": secret, "other": other}


def as_user(client, user):
    client.force_login(user)
    return client


def url(workspace, query: str = "") -> str:
    return reverse("registry:workspace_audit", args=[workspace.pk]) + (f"?{query}" if query else "")


def shown(response) -> list[Event]:
    return [entry.event for entry in response.context["timeline"].entries]


def kinds(response) -> list[str]:
    return [event.kind for event in shown(response)]


class TestWhoSeesWhat:
    def test_it_sends_anonymous_visitors_to_sign_in(self, client, workspace):
        assert client.get(url(workspace)).status_code == 302

    def test_an_outsider_gets_404(self, client, eve, workspace, history):
        assert as_user(client, eve).get(url(workspace)).status_code == 404

    @pytest.mark.parametrize("who", ["alice", "bob", "carol"])
    def test_members_see_the_events_the_api_answers_them_for_the_workspace(
        self, client, api, request, workspace, history, who
    ):
        user = request.getfixturevalue(who)
        page = as_user(client, user).get(url(workspace))
        assert page.status_code == 200
        answered = api.as_user(user).get("/api/v1/events/", {"workspace": workspace.pk, "per_page": 100}).json()["data"]
        on_the_page = [event.pk for event in shown(page) if event.subject_type not in ("token", "ssh_key")]
        assert on_the_page == [event["id"] for event in answered]
        assert all(event.workspace_id in (workspace.pk, None) for event in shown(page))

    def test_membership_and_token_events_are_for_owners_only(self, client, alice, bob, carol, workspace, history):
        owner = kinds(as_user(client, alice).get(url(workspace)))
        assert "membership.added" in owner and "token.created" in owner
        for user in (bob, carol):
            seen = kinds(as_user(client, user).get(url(workspace)))
            assert "membership.added" not in seen and "token.created" not in seen

    def test_another_members_private_version_stays_hidden(self, client, alice, bob, workspace, history):
        assert "secret-net" not in as_user(client, alice).get(url(workspace)).content.decode()
        assert "Uploaded secret-net v1 (private)" in as_user(client, bob).get(url(workspace)).content.decode()

    def test_another_workspaces_events_are_not_listed(self, client, alice, workspace, history):
        assert "hidden" not in [event.subject_name for event in shown(as_user(client, alice).get(url(workspace)))]

    def test_the_workspace_page_links_to_it(self, client, carol, workspace):
        assert f'href="{url(workspace)}"' in as_user(client, carol).get(f"/workspaces/{workspace.pk}/").content.decode()


class TestFilters:
    def test_kind_takes_a_kind_or_a_family(self, client, alice, workspace, history):
        client = as_user(client, alice)
        assert kinds(client.get(url(workspace, "kind=alias.set"))) == ["alias.set"]
        assert set(kinds(client.get(url(workspace, "kind=registered_model")))) == {
            "registered_model.created",
            "registered_model.updated",
        }

    def test_actor(self, client, alice, bob, workspace, history):
        events = shown(as_user(client, alice).get(url(workspace, f"actor={bob.pk}")))
        assert events and {event.actor_id for event in events} == {bob.pk}

    def test_project(self, client, alice, workspace, project, history):
        second = services.project_create(user=alice, workspace=workspace, name="second")
        events = shown(as_user(client, alice).get(url(workspace, f"project={second.pk}")))
        assert [event.kind for event in events] == ["project.created"]

    def test_registered_model(self, client, alice, workspace, history):
        registered = history["vit"].registered_model
        response = as_user(client, alice).get(url(workspace, f"registered_model={registered.pk}"))
        assert kinds(response) == ["registered_model.updated", "model.created", "registered_model.created"]
        assert response.context["selected"]["registered_model"] == [str(registered.pk)]

    def test_time_range(self, client, alice, workspace, history):
        client = as_user(client, alice)
        newest = Event.objects.visible_to(alice).filter(workspace_id=workspace.pk).order_by("-time", "-id").first()
        since = newest.time.strftime("%Y-%m-%dT%H:%M:%S.%f")
        assert newest.pk in [e.pk for e in shown(client.get(url(workspace, f"since={since}")))]
        assert newest.pk not in [e.pk for e in shown(client.get(url(workspace, f"until={since}")))]
        tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
        assert shown(client.get(url(workspace, f"since={tomorrow}"))) == []

    def test_filters_combine(self, client, alice, bob, workspace, history):
        response = as_user(client, alice).get(url(workspace, f"kind=model.created&actor={bob.pk}"))
        assert [event.subject_name for event in shown(response)] == ["resnet50 v1"]  # not Bob's private one

    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ("since=yesterday", "From (ISO 8601): Not a time: give an ISO 8601 time such as 2025-03-04T14:02:00Z."),
            ("kind=model.exploded", "Unknown kind 'model.exploded'"),
            ("actor=bob", "Actor (user id): Enter whole numbers separated by commas."),
        ],
    )
    def test_a_bad_filter_is_a_400_naming_it_with_no_events(self, client, alice, workspace, history, query, message):
        response = as_user(client, alice).get(url(workspace, query))
        assert response.status_code == 400
        assert any(message in error for error in response.context["filter_errors"])
        assert shown(response) == []
        assert escape(message) in response.content.decode()

    def test_the_form_offers_the_workspaces_projects_models_and_members(self, client, bob, workspace, project, history):
        response = as_user(client, bob).get(url(workspace))
        assert [p.name for p in response.context["projects"]] == ["resnets"]
        assert [m.name for m in response.context["registered_models"]] == ["resnet50", "secret-net", "vit"]
        assert [u.login for u in response.context["actors"]] == ["alice", "bob", "carol"]

    def test_the_form_never_offers_a_model_of_someone_elses_private_versions(self, client, alice, workspace, history):
        models = as_user(client, alice).get(url(workspace)).context["registered_models"]
        assert [m.name for m in models] == ["resnet50", "vit"]

    def test_pages_keep_the_filters(self, client, alice, workspace, project):
        for i in range(55):
            services.project_update(project=project, user=alice, description=f"take {i}")
        response = as_user(client, alice).get(url(workspace, "kind=project.updated"))
        timeline = response.context["timeline"]
        assert len(timeline.entries) == 50 and timeline.page.paginator.count == 55
        assert timeline.next_url == "?kind=project.updated&page=2"
        assert len(shown(client.get(url(workspace, "kind=project.updated&page=2")))) == 5

    def test_a_long_log_is_counted_up_to_the_cap_and_every_page_stays_reachable(
        self, client, alice, workspace, project, monkeypatch
    ):
        monkeypatch.setattr("events.pagination.COUNT_CAP", 60)  # the cap, shrunk so that a test can pass it
        for i in range(130):
            services.project_update(project=project, user=alice, description=f"take {i}")
        first = as_user(client, alice).get(url(workspace, "kind=project.updated"))
        timeline = first.context["timeline"]
        assert timeline.page.paginator.capped is True and timeline.last_url == ""
        assert "Page 1 of more than 2" in first.content.decode()
        assert 'aria-label="Oldest events"' not in first.content.decode()
        third = client.get(url(workspace, "kind=project.updated&page=3"))
        assert [e.after["description"] for e in shown(third)] == [f"take {i}" for i in range(29, -1, -1)]
        assert third.context["timeline"].next_url == ""
        assert client.get(url(workspace, "kind=project.updated&page=9")).context["timeline"].page.number == 1

    def test_it_links_the_same_question_to_the_api(self, client, alice, workspace, history):
        response = as_user(client, alice).get(url(workspace, "kind=alias&page=1"))
        assert response.context["api_url"] == f"/api/v1/events/?kind=alias&workspace={workspace.pk}"

    def test_a_former_members_events_stay_listed_after_they_leave(self, client, alice, bob, workspace, history):
        services.membership_remove(workspace=workspace, actor=alice, user=bob)
        response = as_user(client, alice).get(url(workspace, f"actor={bob.pk}"))
        assert "Uploaded resnet50 v1" in response.content.decode()

    def test_a_viewer_made_member_reads_the_same_as_before(self, client, alice, carol, workspace, history):
        before = kinds(as_user(client, carol).get(url(workspace)))
        services.membership_set(workspace=workspace, actor=alice, user=carol, role=Role.MEMBER)
        after = kinds(client.get(url(workspace)))
        assert after == before  # the role change is a membership event: owners only

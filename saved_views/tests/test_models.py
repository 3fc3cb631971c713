"""SavedView and LastView: what a view holds, who sees it, and the database's rules."""

import pytest
from django.db import IntegrityError, transaction
from django.http import QueryDict

from registry import services as registry_services
from saved_views.models import LastView, SavedView, remembered_query, view_query


def test_a_view_is_the_query_string_without_the_page_the_format_and_the_view_name():
    params = QueryDict("col=m.loss&page=3&format=csv&view=best&q=m.loss+%3C+1&col=hp.lr")
    assert view_query(params) == "col=m.loss&col=hp.lr&q=m.loss+%3C+1"


class TestVisibility:
    def test_members_of_the_workspace_see_its_projects_views(self, project, alice, bob, carol, eve, staff):
        view = SavedView.objects.create(project=project, name="Best", slug="best", query="col=m.loss", created_by=bob)
        for user in (alice, bob, carol, staff):
            assert list(SavedView.objects.visible_to(user)) == [view]
        assert list(SavedView.objects.visible_to(eve)) == []

    def test_a_view_is_named_by_its_slug_or_its_id(self, project, bob):
        view = SavedView.objects.create(project=project, name="Best", slug="best", query="", created_by=bob)
        assert list(SavedView.objects.named("best")) == [view]
        assert list(SavedView.objects.named(str(view.pk))) == [view]
        assert list(SavedView.objects.named("worst")) == []


class TestConstraints:
    def test_a_project_has_one_default_view(self, project, bob):
        SavedView.objects.create(project=project, name="A", slug="a", is_default=True)
        with pytest.raises(IntegrityError), transaction.atomic():
            SavedView.objects.create(project=project, name="B", slug="b", is_default=True)

    def test_two_views_of_a_project_do_not_share_a_slug(self, project):
        SavedView.objects.create(project=project, name="A", slug="a")
        with pytest.raises(IntegrityError), transaction.atomic():
            SavedView.objects.create(project=project, name="a", slug="a")

    def test_no_view_is_slugged_default(self, project):
        with pytest.raises(IntegrityError), transaction.atomic():
            SavedView.objects.create(project=project, name="Default", slug="default")

    def test_a_user_has_one_last_view_per_project(self, project, bob):
        LastView.objects.create(user=bob, project=project, query="col=")
        with pytest.raises(IntegrityError), transaction.atomic():
            LastView.objects.create(user=bob, project=project, query="col=m.loss")


class TestRememberedQuery:
    def test_it_is_the_users_last_view(self, project, bob):
        SavedView.objects.create(project=project, name="A", slug="a", query="col=hp.lr", is_default=True)
        LastView.objects.create(user=bob, project=project, query="col=m.loss")
        assert remembered_query(bob, project) == "col=m.loss"

    def test_without_one_it_is_the_projects_default_view(self, project, bob):
        SavedView.objects.create(project=project, name="A", slug="a", query="col=hp.lr", is_default=True)
        assert remembered_query(bob, project) == "col=hp.lr"

    def test_a_reset_last_view_falls_back_to_the_projects_default(self, project, bob):
        SavedView.objects.create(project=project, name="A", slug="a", query="col=hp.lr", is_default=True)
        LastView.objects.create(user=bob, project=project, query="")
        assert remembered_query(bob, project) == "col=hp.lr"

    def test_views_go_with_their_project(self, project, alice, bob):
        SavedView.objects.create(project=project, name="A", slug="a")
        LastView.objects.create(user=bob, project=project, query="col=")
        registry_services.project_delete(project=project, user=alice)
        assert not SavedView.objects.exists() and not LastView.objects.exists()

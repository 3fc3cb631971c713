"""saved_views.services: saving, deleting and the default view; who may do each.

Alice owns the workspace (so the project, which she created), Bob is a member, Carol a viewer,
Eve an outsider (see conftest.py).
"""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from saved_views import services
from saved_views.models import MAX_QUERY_LENGTH, LastView, SavedView


def save(user, project, name="Best loss", query="col=m.loss", default=False):
    return services.saved_view_create(user=user, project=project, name=name, query=query, default=default)


class TestCreate:
    @pytest.mark.parametrize("who", ["alice", "bob", "carol"])
    def test_every_member_saves_views_of_the_project(self, request, project, who):
        user = request.getfixturevalue(who)
        view = save(user, project)
        assert (view.name, view.slug, view.query, view.created_by) == ("Best loss", "best-loss", "col=m.loss", user)
        assert SavedView.objects.get().pk == view.pk

    def test_an_outsider_cannot(self, project, eve):
        with pytest.raises(PermissionDenied):
            save(eve, project)
        assert not SavedView.objects.exists()

    def test_a_name_is_unique_in_its_project(self, project, bob, carol):
        save(bob, project, name="Best loss")
        with pytest.raises(ValidationError, match="already"):
            save(carol, project, name="best  LOSS")
        assert SavedView.objects.count() == 1

    @pytest.mark.parametrize("name", ["", "  ", "!!!", "Default", "42", "x" * 101])
    def test_a_name_that_cannot_name_a_view_is_refused(self, project, bob, name):
        with pytest.raises(ValidationError):
            save(bob, project, name=name)
        assert not SavedView.objects.exists()

    def test_the_query_string_is_stored_as_the_page_writes_it(self, project, bob):
        view = save(bob, project, query="col=m.loss\r\nLocation: x&page=2&view=other&format=csv")
        assert view.query == "col=m.loss%0D%0ALocation%3A+x"

    def test_a_query_string_over_the_limit_is_refused(self, project, bob):
        with pytest.raises(ValidationError):
            save(bob, project, query="q=" + "x" * MAX_QUERY_LENGTH)
        assert not SavedView.objects.exists()


class TestDefault:
    def test_the_projects_owner_sets_the_default_in_place_of_the_one_before(self, project, alice):
        first = save(alice, project, name="First", default=True)
        second = save(alice, project, name="Second", default=True)
        first.refresh_from_db()
        assert (first.is_default, second.is_default) == (False, True)
        services.saved_view_set_default(user=alice, view=first)
        assert list(SavedView.objects.filter(is_default=True)) == [first]

    @pytest.mark.parametrize("who", ["bob", "carol"])
    def test_other_members_do_not(self, request, project, alice, who):
        user = request.getfixturevalue(who)
        with pytest.raises(PermissionDenied):
            save(user, project, default=True)
        view = save(alice, project)
        with pytest.raises(PermissionDenied):
            services.saved_view_set_default(user=user, view=view)
        assert not SavedView.objects.filter(is_default=True).exists()

    def test_the_owner_unsets_it(self, project, alice):
        view = save(alice, project, default=True)
        services.saved_view_set_default(user=alice, view=view, default=False)
        view.refresh_from_db()
        assert not view.is_default


class TestDelete:
    def test_its_creator_deletes_it(self, project, carol):
        view = save(carol, project)
        services.saved_view_delete(user=carol, view=view)
        assert not SavedView.objects.exists()

    def test_the_projects_owner_deletes_anyones(self, project, alice, carol):
        view = save(carol, project)
        services.saved_view_delete(user=alice, view=view)
        assert not SavedView.objects.exists()

    def test_another_member_does_not(self, project, bob, carol):
        view = save(carol, project)
        with pytest.raises(PermissionDenied):
            services.saved_view_delete(user=bob, view=view)
        assert SavedView.objects.filter(pk=view.pk).exists()


class TestLastView:
    def test_it_keeps_one_row_per_user_and_project_with_the_latest_query(self, project, bob, carol):
        services.last_view_remember(user=bob, project=project, query="col=m.loss")
        services.last_view_remember(user=bob, project=project, query="col=hp.lr")
        services.last_view_remember(user=carol, project=project, query="col=")
        assert dict(LastView.objects.values_list("user__login", "query")) == {"bob": "col=hp.lr", "carol": "col="}

    def test_a_query_string_over_the_limit_is_not_kept(self, project, bob):
        services.last_view_remember(user=bob, project=project, query="col=m.loss")
        services.last_view_remember(user=bob, project=project, query="q=" + "x" * MAX_QUERY_LENGTH)
        assert LastView.objects.get().query == "col=m.loss"

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="synchronous_commit is PostgreSQL's")
    def test_on_postgresql_it_does_not_wait_for_the_wal_flush(self, project, bob):
        with CaptureQueriesContext(connection) as queries:
            services.last_view_remember(user=bob, project=project, query="col=m.loss")
        statements = [q["sql"] for q in queries.captured_queries]
        assert any(sql == "SET LOCAL synchronous_commit TO OFF" for sql in statements)
        assert LastView.objects.get(user=bob).query == "col=m.loss"

"""The saved views' pages: saving, opening by URL, deleting and the default, through the full stack.

Alice owns the workspace, Bob is a member, Carol a viewer, Eve an outsider (see conftest.py).
"""

import pytest

from saved_views.models import SavedView


def table(project, query=""):
    return f"/projects/{project.pk}/" + (f"?{query}" if query else "")


def post_save(client, project, **data):
    return client.post(f"/projects/{project.pk}/views/", {"name": "Best loss", "query": "col=m.loss", **data})


class TestSave:
    def test_anonymous_visitors_are_sent_to_sign_in(self, client, project):
        response = post_save(client, project)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        assert not SavedView.objects.exists()

    def test_a_viewer_saves_a_view_and_lands_on_it(self, client, carol, project):
        client.force_login(carol)
        response = post_save(client, project)
        assert response["Location"] == table(project, "view=best-loss")
        assert SavedView.objects.get().query == "col=m.loss"

    def test_an_outsider_gets_404(self, client, eve, project):
        client.force_login(eve)
        assert post_save(client, project).status_code == 404
        assert not SavedView.objects.exists()

    def test_a_bad_name_is_said_and_changes_nothing(self, client, bob, project):
        client.force_login(bob)
        response = post_save(client, project, name="!!!")
        assert response.status_code == 302 and response["Location"] == table(project)
        assert not SavedView.objects.exists()
        messages = [str(m) for m in client.get(table(project, "col=")).context["messages"]]
        assert messages == ["Give the view a name with a letter or a digit."]

    def test_a_member_cannot_make_it_the_default(self, client, bob, project):
        client.force_login(bob)
        assert post_save(client, project, default="1").status_code == 403
        assert not SavedView.objects.exists()

    def test_the_page_offers_saving_the_current_view(self, client, bob, project):
        client.force_login(bob)
        html = client.get(table(project, "col=m.loss&page=1")).content.decode()
        assert '<input type="hidden" name="query" value="col=m.loss">' in html


class TestOpen:
    @pytest.fixture
    def view(self, project, bob):
        return SavedView.objects.create(project=project, name="Best", slug="best", query="col=hp.lr", created_by=bob)

    @pytest.mark.parametrize("who", ["alice", "bob", "carol"])
    def test_every_member_opens_it_by_slug_or_id(self, client, request, project, view, who):
        client.force_login(request.getfixturevalue(who))
        for name in ("best", str(view.pk)):
            assert client.get(table(project, f"view={name}"))["Location"] == table(project, "col=hp.lr")

    def test_an_outsider_gets_404(self, client, eve, project, view):
        client.force_login(eve)
        assert client.get(table(project, "view=best")).status_code == 404

    def test_an_unknown_view_is_404(self, client, bob, project, view):
        client.force_login(bob)
        assert client.get(table(project, "view=nope")).status_code == 404

    def test_another_projects_view_is_not_opened(self, client, alice, workspace, project, view):
        from registry import services

        other = services.project_create(user=alice, workspace=workspace, name="other")
        client.force_login(alice)
        assert client.get(table(other, "view=best")).status_code == 404

    def test_the_page_lists_the_views_and_marks_the_current_one(self, client, carol, project, view):
        client.force_login(carol)
        html = client.get(table(project, "col=hp.lr")).content.decode()
        assert '<a href="?view=best" aria-current="true">Best</a>' in html

    def test_the_default_view_greets_whoever_has_no_view_of_their_own(self, client, carol, project, view):
        view.is_default = True
        view.save()
        client.force_login(carol)
        assert client.get(table(project))["Location"] == table(project, "col=hp.lr")
        assert client.get(table(project, "view=default"))["Location"] == table(project, "col=hp.lr")


class TestDeleteAndDefault:
    @pytest.fixture
    def view(self, project, carol):
        return SavedView.objects.create(project=project, name="Mine", slug="mine", query="col=", created_by=carol)

    def test_its_creator_deletes_it(self, client, carol, project, view):
        client.force_login(carol)
        response = client.post(f"/projects/{project.pk}/views/{view.pk}/delete/")
        assert response["Location"] == table(project) and not SavedView.objects.exists()

    def test_another_member_gets_403(self, client, bob, project, view):
        client.force_login(bob)
        assert client.post(f"/projects/{project.pk}/views/{view.pk}/delete/").status_code == 403
        assert SavedView.objects.filter(pk=view.pk).exists()

    def test_an_outsider_gets_404(self, client, eve, project, view):
        client.force_login(eve)
        assert client.post(f"/projects/{project.pk}/views/{view.pk}/delete/").status_code == 404
        assert client.post(f"/projects/{project.pk}/views/{view.pk}/default/").status_code == 404
        assert SavedView.objects.filter(pk=view.pk, is_default=False).exists()

    def test_the_owner_makes_it_the_default(self, client, alice, project, view):
        client.force_login(alice)
        response = client.post(f"/projects/{project.pk}/views/{view.pk}/default/")
        assert response["Location"] == table(project, "view=mine")
        view.refresh_from_db()
        assert view.is_default

    def test_the_owner_unsets_the_default_from_the_views_menu(self, client, alice, project, view):
        view.is_default = True
        view.save()
        client.force_login(alice)
        page = client.get(table(project, "col=hp.lr")).content.decode()
        unset = f'formaction="/projects/{project.pk}/views/{view.pk}/default/" formnovalidate name="default" value="0"'
        assert unset in page
        client.post(f"/projects/{project.pk}/views/{view.pk}/default/", {"default": "0"})
        view.refresh_from_db()
        assert not view.is_default

    def test_a_member_gets_403_for_the_default(self, client, bob, project, view):
        client.force_login(bob)
        assert client.post(f"/projects/{project.pk}/views/{view.pk}/default/").status_code == 403
        view.refresh_from_db()
        assert not view.is_default

    def test_a_get_changes_nothing(self, client, carol, project, view):
        client.force_login(carol)
        assert client.get(f"/projects/{project.pk}/views/{view.pk}/delete/").status_code == 405
        assert SavedView.objects.filter(pk=view.pk).exists()

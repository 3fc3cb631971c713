"""What a newcomer is offered: "Upload" only to those who may upload (navigation, dashboard,
models list), and an empty project's exact upload lines with its own id.

Alice owns the workspace, Bob is a member, Carol a viewer, Eve is in no workspace (conftest.py).
"""

import html
import re

import pytest
from django.urls import reverse

from registry import services
from registry.tests.factories import upload

UPLOAD = reverse("registry:model_upload")


def offers(content: bytes) -> tuple[bool, bool]:
    """(the navigation's Upload item, the page's "Upload a model" button)."""
    text = content.decode()
    nav = re.search(rf'<a href="{UPLOAD}"[^>]*>Upload</a>', text) is not None
    button = re.search(rf'<a class="button button--primary" href="{UPLOAD}">Upload a model</a>', text) is not None
    return nav, button


@pytest.mark.parametrize("page", ["registry:home", "registry:model_list"])
@pytest.mark.parametrize("who, offered", [("alice", True), ("bob", True), ("carol", False), ("eve", False)])
def test_upload_is_offered_only_to_owners_and_members(client, workspace, page, who, offered, request):
    client.force_login(request.getfixturevalue(who))
    content = client.get(reverse(page)).content
    assert offers(content) == (offered, offered)
    assert (UPLOAD in content.decode()) == offered


def test_staff_are_offered_upload(client, staff):
    client.force_login(staff)
    assert offers(client.get(reverse("registry:home")).content) == (True, True)


def test_someone_in_no_workspace_is_offered_to_start_one(client, eve):
    client.force_login(eve)
    content = client.get(reverse("registry:home")).content.decode()
    assert "Start a workspace" in content and "send you an invitation" in content


def test_a_viewer_is_offered_to_browse(client, workspace, carol):
    client.force_login(carol)
    content = client.get(reverse("registry:home")).content.decode()
    assert 'class="button button--primary" href="/models/"' in content


def code_block(content: str, element_id: str) -> str:
    match = re.search(rf'<code id="{element_id}">(.*?)</code>', content, re.S)
    return html.unescape(match.group(1)) if match else ""


class TestEmptyProject:
    def test_it_shows_the_cli_and_python_lines_with_its_own_id(self, client, project, bob):
        other = services.project_create(user=bob, workspace=project.workspace, name="second")
        client.force_login(bob)
        content = client.get(reverse("registry:project_detail", args=[other.pk])).content.decode()
        assert code_block(content, "upload-cli") == (
            f"maisie models upload model.pt --project {other.pk} -n my-model -m metrics.json"
        )
        assert code_block(content, "upload-python") == (
            "from maisie import Models\n\n"
            f'Models().upload(name="my-model", filename="model.pt", metrics="metrics.json", project_id={other.pk})'
        )

    def test_a_viewer_sees_no_upload_lines(self, client, project, carol):
        client.force_login(carol)
        content = client.get(reverse("registry:project_detail", args=[project.pk])).content.decode()
        assert "No models in resnets yet" in content and "upload-cli" not in content

    def test_a_project_with_models_shows_none(self, client, project, bob):
        upload(bob, project)
        client.force_login(bob)
        content = client.get(reverse("registry:project_detail", args=[project.pk])).content.decode()
        assert "upload-cli" not in content

    def test_a_filtered_empty_table_is_not_an_empty_project(self, client, project, bob):
        client.force_login(bob)
        content = client.get(reverse("registry:project_detail", args=[project.pk]) + "?q=tag%3D%22x%22").content
        assert b"upload-cli" not in content


def test_the_documented_lines_match_the_client(project):
    """The CLI's --project/-n/-m options and Models.upload's keyword names are the client's own."""
    import inspect

    pytest.importorskip("maisie")
    from maisie.cli.models import upload as cli_upload
    from maisie.resources.models import Models

    options = {opt for param in cli_upload.params for opt in getattr(param, "opts", [])}
    assert {"--project", "-n", "-m"} <= options
    parameters = inspect.signature(Models.upload).parameters
    assert {"name", "filename", "metrics", "project_id"} <= set(parameters)

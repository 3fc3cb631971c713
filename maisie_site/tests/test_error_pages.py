"""The product's own 404 and 403 pages, with DEBUG on as under `make run` (maisie_site/error_pages.py).

A link to something hidden and a link to nothing answer alike, and never with Django's technical
page; the API keeps its JSON errors.
"""

import pytest
from django.urls import reverse

from registry.tests.factories import upload

PRODUCT_404 = b"This page does not exist, or you do not have access to it."
TECHNICAL = (b"Using the URLconf", b"Raised by:", b"technical_404", b"Django tried these URL patterns")


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    settings.MAISIE_DEBUG_TECHNICAL_PAGES = False


def assert_product_404(response):
    assert response.status_code == 404
    assert PRODUCT_404 in response.content and b"ask a workspace owner to add you" in response.content
    assert not any(marker in response.content for marker in TECHNICAL), response.content[:400]


def card(response) -> str:
    """The page's message, without the frame (whose forms carry a fresh CSRF token each time)."""
    content = response.content.decode()
    return content[content.index('data-page="not-found"') : content.index("</main>")]


def test_a_hidden_model_and_a_missing_one_answer_with_the_same_page(debug, client, eve, project, bob):
    model = upload(bob, project, name="secret-net")
    client.force_login(eve)
    hidden = client.get(reverse("registry:model_detail", args=[model.pk]))
    missing = client.get(reverse("registry:model_detail", args=[model.pk + 1000]))
    assert_product_404(hidden)
    assert_product_404(missing)
    assert b"secret-net" not in hidden.content
    assert card(hidden) == card(missing)


@pytest.mark.parametrize("path", ["/workspaces/{ws}/", "/projects/{project}/"])
def test_an_outsider_opening_a_shared_link_gets_the_product_page(debug, client, eve, project, path):
    client.force_login(eve)
    assert_product_404(client.get(path.format(ws=project.workspace_id, project=project.pk)))


def test_a_url_that_matches_nothing_gets_the_product_page(debug, client, eve):
    client.force_login(eve)
    assert_product_404(client.get("/no/such/page/"))


def test_anonymous_visitors_are_still_sent_to_sign_in_first(debug, client, project):
    response = client.get(f"/projects/{project.pk}/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


def test_the_api_keeps_its_json_errors(debug, api, eve, project):
    response = api.as_user(eve).get(f"/api/v1/projects/{project.pk}/")
    assert response.status_code == 404 and response.json()["status"] == "error"
    unmatched = api.get("/api/v1/no-such-thing/")
    assert unmatched.status_code == 404 and unmatched.json() == {"status": "error", "message": "Not found."}


def test_a_forbidden_action_gets_the_product_403_page(debug, client, carol, workspace):
    client.force_login(carol)  # a viewer: sees the workspace, may not create projects in it
    response = client.post(reverse("registry:project_create", args=[workspace.pk]), {"name": "x"})
    assert response.status_code == 403
    assert b"Ask a workspace owner for the role you need" in response.content
    assert not any(marker in response.content for marker in TECHNICAL)


def test_the_technical_page_comes_back_only_when_asked(settings, client, eve):
    settings.DEBUG = True
    settings.MAISIE_DEBUG_TECHNICAL_PAGES = True
    client.force_login(eve)
    response = client.get("/no/such/page/")
    assert response.status_code == 404 and PRODUCT_404 not in response.content


def test_without_debug_the_same_page_is_shown(settings, client, eve):
    settings.DEBUG = False
    client.force_login(eve)
    assert_product_404(client.get("/no/such/page/"))

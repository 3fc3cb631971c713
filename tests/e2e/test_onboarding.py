"""A team onboards itself, in Chromium: an owner invites by email and copies the link; a new person
opens it in a fresh browser, makes an account and lands in the workspace with the role. With
MAISIE_SCREENSHOTS=1 the link's page is saved as docs/screenshots/invitation.png, and the owner's
side (the link just made, the pending invitations) as invitation-owner.png."""

import pytest

from accounts.models import User
from conftest import PASSWORD, make_user
from registry import services
from registry.models import Membership, Role
from tests.e2e.conftest import sign_in
from tests.e2e.test_screenshots import shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def vision(db):
    alice = make_user("alice")
    workspace = services.workspace_create(user=alice, name="Vision", description="image models")
    services.project_create(user=alice, workspace=workspace, name="resnets")
    return workspace


def test_an_invited_person_makes_an_account_and_joins_with_the_role(page, browser, live_server, vision):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in(page, "alice", PASSWORD)
    page.goto(f"/workspaces/{vision.pk}/")
    page.get_by_label("Email or login").fill("dora@example.com")
    page.locator("form[action$='/invitations/'] select[name=role]").select_option("viewer")
    page.get_by_role("button", name="Create invitation link").click()
    page.wait_for_selector("#new-invitation-link")
    page.get_by_role("button", name="Copy").click()
    link = page.evaluate("navigator.clipboard.readText()")
    assert link == page.locator("#new-invitation-link").inner_text().strip()
    assert "/invitations/inv_" in link
    assert page.get_by_role("list", name="Pending invitations").get_by_text("dora@example.com").is_visible()
    shoot(page, "invitation-owner")

    # A fresh browser: no session, nothing shared with Alice's.
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        newcomer = context.new_page()
        newcomer.set_default_timeout(15_000)
        newcomer.goto(link)
        assert newcomer.get_by_role("heading", name="Join Vision").is_visible()
        newcomer.get_by_label("Login").fill("dora")
        newcomer.get_by_label("Full name").fill("Dora Explorer")
        newcomer.locator("input[name=password]").fill(PASSWORD)
        newcomer.get_by_label("Password again").fill(PASSWORD)
        shoot(newcomer, "invitation", full_page=False)
        newcomer.get_by_role("button", name="Create account and join").click()
        newcomer.wait_for_url(f"**/workspaces/{vision.pk}/")
        assert "you joined as viewer" in newcomer.locator(".messages").inner_text()
        assert newcomer.get_by_role("heading", name="Vision", exact=True).is_visible()
        assert newcomer.get_by_role("navigation", name="Main").get_by_text("Upload").count() == 0  # a viewer

        # The link was single use: opening it again says so.
        newcomer.goto(link)
        assert newcomer.get_by_role("heading", name="This invitation was already used").is_visible()
    finally:
        context.close()

    dora = User.objects.get(login="dora")
    assert dora.email == "dora@example.com" and dora.full_name == "Dora Explorer"
    assert Membership.objects.get(workspace=vision, user=dora).role == Role.VIEWER
    assert page.console_errors == []


def test_the_member_field_suggests_people_by_name(page, vision):
    User.objects.create_user("zofia", PASSWORD, full_name="Zofia Nowak", email="zofia@example.com")
    sign_in(page, "alice", PASSWORD)
    page.goto(f"/workspaces/{vision.pk}/")
    page.get_by_label("User login").fill("now")
    options = page.locator("#user-finder-options option")
    options.first.wait_for(state="attached")
    assert options.first.get_attribute("value") == "zofia"
    assert options.first.get_attribute("label") == "Zofia Nowak (zofia)"
    assert page.console_errors == []

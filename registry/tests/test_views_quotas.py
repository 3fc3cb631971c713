"""A workspace's storage figures on its page, and its quota in the admin (issue 16)."""

import re

from django.urls import reverse

from registry.models import Workspace
from registry.tests.factories import upload

MEMBERSHIP_FORMSET = {
    "memberships-TOTAL_FORMS": "0",
    "memberships-INITIAL_FORMS": "0",
    "memberships-MIN_NUM_FORMS": "0",
    "memberships-MAX_NUM_FORMS": "1000",
}


def storage_card(html: str) -> str:
    return re.search(r'<section class="card" id="storage".*?</section>', html, re.S).group(0)


def test_the_workspace_page_shows_logical_and_stored_bytes(client, project, bob, carol, settings):
    settings.MAISIE_WORKSPACE_QUOTA_BYTES = 0  # no default quota
    upload(bob, project, name="a", content=b"x" * 3000)
    upload(bob, project, name="b", content=b"x" * 3000)  # the same bytes again: stored once
    upload(bob, project, name="c", content=b"y" * 1000)
    client.force_login(carol)  # a viewer sees the figures too

    card = storage_card(client.get(reverse("registry:workspace_detail", args=[project.workspace_id])).content.decode())

    assert re.search(r"<dt>Files</dt><dd>6\.8\xa0KB", card)  # 7,000 bytes: every version's files
    assert re.search(r"<dt>Stored</dt><dd>3\.9\xa0KB", card)  # 4,000 bytes: each file once
    assert "<dt>Quota</dt><dd>None</dd>" in card and "<meter" not in card


def test_a_quota_shows_with_what_is_used(client, project, bob, settings):
    settings.MAISIE_WORKSPACE_QUOTA_BYTES = 0
    Workspace.objects.filter(pk=project.workspace_id).update(quota_bytes=10 * 1024)
    upload(bob, project, content=b"z" * 2048)
    client.force_login(bob)

    card = storage_card(client.get(reverse("registry:workspace_detail", args=[project.workspace_id])).content.decode())

    assert re.search(r"<dt>Quota</dt><dd>10\.0\xa0KB <span class=\"muted small\">2\.0\xa0KB used", card)
    assert '<meter min="0" max="10240" value="2048"' in card


def test_staff_set_a_quota_in_the_admin_and_see_the_usage(client, staff, project, bob):
    upload(bob, project, content=b"q" * 500)
    client.force_login(staff)
    url = reverse("admin:registry_workspace_change", args=[project.workspace_id])
    page = client.get(url).content.decode()
    assert "500 bytes of files, 500 stored (each file once)" in page
    assert 'name="quota_bytes"' in page

    form = {"name": "Vision", "description": "image models", "quota_bytes": "1000000", **MEMBERSHIP_FORMSET}
    response = client.post(url, form)
    assert response.status_code == 302, response.content
    assert Workspace.objects.get(pk=project.workspace_id).quota_bytes == 1_000_000

    response = client.post(url, {**form, "quota_bytes": "-1"})
    assert response.status_code == 200 and "A quota is 0 bytes or more" in response.content.decode()
    assert Workspace.objects.get(pk=project.workspace_id).quota_bytes == 1_000_000

    client.post(url, {**form, "quota_bytes": ""})  # empty: back to the default
    assert Workspace.objects.get(pk=project.workspace_id).quota_bytes is None

"""Every main page loads in Chromium without a script or CSP error; with MAISIE_SCREENSHOTS=1 the
pages are saved to docs/screenshots/ (desktop, and the project page on a phone)."""

import os
from pathlib import Path

import pytest

from conftest import PASSWORD
from tests.e2e.conftest import sign_in
from tests.e2e.demo import seed_demo

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str, full_page: bool = True) -> None:
    if os.environ.get("MAISIE_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def test_the_main_pages_render_without_errors(page):
    demo = seed_demo()
    project, models = demo["project"], demo["models"]
    page.goto("/accounts/login/")
    shoot(page, "login")
    sign_in(page, "alice", PASSWORD)
    shoot(page, "dashboard")
    page.goto(f"/workspaces/{demo['workspace'].pk}/")
    shoot(page, "workspace")
    page.goto(
        f"/projects/{project.pk}/?col=metrics.accuracy&col=metrics.loss&col=metrics.latency_ms&col=hyperparameters.lr"
        "&col=hyperparameters.optimizer&col=hyperparameters.batch_size&ordering=-metrics.accuracy&charts=1"
        "&min.metrics.accuracy=0.7&x=hyperparameters.lr&y=metrics.accuracy"
    )
    page.wait_for_selector("[data-chart=scatter] svg")
    shoot(page, "project")
    page.goto(
        f"/projects/{project.pk}/models/?col=metrics.accuracy&col=metrics.top5&col=metrics.loss"
        "&col=hyperparameters.lr&of=production"
    )
    shoot(page, "models")
    resnet50 = models[1].registered_model
    page.goto(f"/registered-models/{resnet50.pk}/?col=metrics.accuracy&col=metrics.loss&col=hyperparameters.lr")
    shoot(page, "registered-model")
    page.goto(f"/workspaces/{demo['workspace'].pk}/audit/?kind=alias")
    shoot(page, "audit")
    page.goto(f"/models/{models[26].pk}/")  # resnet50 v6, @production
    shoot(page, "model")
    page.goto(f"/models/compare/?id={models[0].pk}&id={models[5].pk}&id={models[10].pk}")
    shoot(page, "compare")
    page.goto(f"/models/upload/?project={project.pk}")
    shoot(page, "upload")
    page.goto("/account/")
    shoot(page, "account")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/projects/{project.pk}/?col=metrics.accuracy&col=hyperparameters.lr&ordering=-metrics.accuracy")
    shoot(page, "project-phone", full_page=False)
    assert page.console_errors == []


def test_the_promotion_pages_render_without_errors(page):
    """A pending promotion request on resnet50's page, as the owner who may approve it, and the
    project's alias rules."""
    from promotions import services as promotions
    from registry.tests.factories import upload

    demo = seed_demo()
    alice, bob, project = demo["alice"], demo["bob"], demo["project"]
    promotions.alias_rule_create(
        project=project,
        user=alice,
        pattern="production",
        condition='metrics.accuracy >= 0.8 and branch = "main"',
        metric="accuracy",
        direction="higher",
        tolerance=0.02,
        approvals=1,
    )
    promotions.alias_rule_create(
        project=project, user=alice, pattern="stag*", movers="users", users=[bob], condition="commit exists"
    )
    metrics = {"accuracy": 0.931, "top5": 0.989, "loss": 0.31, "f1": 0.925, "latency_ms": 7.4}
    candidate = upload(bob, project, name="resnet50", metrics=metrics, git_branch="main", git_commit="9f3c2e1")
    promotions.alias_put(
        registered_model=candidate.registered_model, name="production", version=candidate.version, user=bob
    )
    sign_in(page, "alice", PASSWORD)
    page.goto(f"/registered-models/{candidate.registered_model_id}/?col=metrics.accuracy&col=metrics.loss")
    page.locator("#promotions .request").wait_for()
    shoot(page, "promotion-request")
    page.goto(f"/projects/{project.pk}/settings/")
    page.locator("#rules .rule").first.wait_for()
    shoot(page, "alias-rules")
    assert page.console_errors == []


def test_the_admin_and_the_api_reference_work_under_the_content_security_policy(page):
    demo = seed_demo(models=3)
    make_staff = demo["alice"]
    make_staff.is_staff = make_staff.is_superuser = True
    make_staff.save()
    sign_in(page, "alice", PASSWORD)
    page.get_by_role("link", name="Admin").click()
    page.wait_for_url("**/admin/")
    page.goto(f"/admin/registry/mlmodel/{demo['models'][0].pk}/change/")
    page.goto("/admin/registry/mlmodel/")
    page.goto("/api/v1/docs/")
    page.locator(".swagger-ui").first.wait_for()
    assert [e for e in page.console_errors if "Content Security Policy" in e] == []

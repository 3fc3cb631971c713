"""Shared fixtures: Healthchecks-style Alice (owner), Bob (member), Carol (viewer), Eve (outsider)."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import User
from maisie_site import paginator
from registry import services
from registry.models import Role

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _media_and_cache(settings, tmp_path):
    """Every test stores files in its own folder and starts with empty throttle counters."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "registry.storage.DurableFileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _no_counting_connection_left_open():
    """A test that counted a page on PostgreSQL outside a transaction left the paginator's thread
    a connection to the test database, which would stop the database being dropped at the end."""
    yield
    paginator.shutdown()


def make_user(login: str, **extra) -> User:
    return User.objects.create_user(login, PASSWORD, full_name=login.title(), email=f"{login}@example.com", **extra)


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def bob(db):
    return make_user("bob")


@pytest.fixture
def carol(db):
    return make_user("carol")


@pytest.fixture
def eve(db):
    return make_user("eve")


@pytest.fixture
def staff(db):
    return make_user("root", is_staff=True, is_superuser=True)


@pytest.fixture
def workspace(alice, bob, carol):
    """Alice owns it, Bob is a member, Carol a viewer; Eve is not in it."""
    ws = services.workspace_create(user=alice, name="Vision", description="image models")
    services.membership_set(workspace=ws, actor=alice, user=bob, role=Role.MEMBER)
    services.membership_set(workspace=ws, actor=alice, user=carol, role=Role.VIEWER)
    return ws


@pytest.fixture
def project(workspace, alice):
    return services.project_create(
        user=alice, workspace=workspace, name="resnets", git_url="https://github.com/acme/resnets"
    )


@pytest.fixture
def api():
    """An API client; `api.as_user(u)` signs requests with a real JWT from the login endpoint."""
    client = APIClient()

    def as_user(user):
        client.credentials()
        if user is not None:
            response = client.post("/api/v1/auth/login/", {"login": user.login, "password": PASSWORD})
            assert response.status_code == 200, response.content
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['data']['access_token']}")
        return client

    client.as_user = as_user
    return client

"""Shared fixtures: Healthchecks-style Alice (owner), Bob (member), Carol (viewer), Eve (outsider)."""

import contextlib
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import User
from maisie_site import paginator
from registry import services
from registry.models import Role

PASSWORD = "correct-horse-battery-staple"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "durable: the test's file storage fsyncs, as production's does (registry.storage)"
    )


@pytest.fixture(autouse=True)
def _media_and_cache(request, settings, tmp_path):
    """Every test stores files in its own folder and starts with empty throttle counters.

    Durability is tested where it is the subject (tests marked `durable`, as test_storage.py is);
    elsewhere the storage is the same minus its fsyncs, which cost a few ms per stored file here."""
    durable = request.node.get_closest_marker("durable") is not None
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "registry.storage.DurableFileSystemStorage"
            if durable
            else "django.core.files.storage.FileSystemStorage",
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


def make_workspace(alice, bob, carol):
    ws = services.workspace_create(user=alice, name="Vision", description="image models")
    services.membership_set(workspace=ws, actor=alice, user=bob, role=Role.MEMBER)
    services.membership_set(workspace=ws, actor=alice, user=carol, role=Role.VIEWER)
    return ws


def make_project(workspace, alice):
    return services.project_create(
        user=alice, workspace=workspace, name="resnets", git_url="https://github.com/acme/resnets"
    )


@pytest.fixture
def workspace(alice, bob, carol):
    """Alice owns it, Bob is a member, Carol a viewer; Eve is not in it."""
    return make_workspace(alice, bob, carol)


@pytest.fixture
def project(workspace, alice):
    return make_project(workspace, alice)


@contextlib.contextmanager
def built_once(django_db_blocker, tmp_path_factory):
    """For a module-scoped fixture: read-only data built once for all the module's tests, as
    Django's setUpTestData does. Yields Alice, Bob and Carol with their workspace and project (as
    the fixtures of the same names make them), for the fixture to add to. Everything is written in
    one transaction that each test's own transaction nests in (a test's writes still go with it),
    rolled back after the module's last test; stored files go to a folder of their own."""
    media = tmp_path_factory.mktemp("built-once-media")
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": media}},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        transaction.atomic(),
        override_settings(STORAGES=storages, MEDIA_ROOT=media, PASSWORD_HASHERS=hashers),
    ):
        people = {login: make_user(login) for login in ("alice", "bob", "carol")}
        workspace = make_workspace(**people)
        yield SimpleNamespace(**people, workspace=workspace, project=make_project(workspace, people["alice"]))
        transaction.set_rollback(True)


def from_shared(*names: str):
    """Function-scoped fixtures that hand out the attributes `names` of a module's `shared` fixture
    (made with built_once), in place of conftest's fixtures of those names, which would build anew:
    `alice, project = from_shared("alice", "project")`."""

    def fixture_for(name):
        def fixture(shared, db):
            return getattr(shared, name)

        return pytest.fixture(name=name)(fixture)

    return tuple(fixture_for(name) for name in names)


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

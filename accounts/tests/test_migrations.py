"""Migration 0003 makes logins unique in any case; where two accounts already differ only by
case it stops and names them rather than rename anyone silently."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("accounts", "0002_sshchallenge_sshpublickey")]
AFTER = [("accounts", "0003_throttlecounter_login_any_case")]

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def before_0003():
    apps = migrate(BEFORE)
    yield apps
    apps.get_model("accounts", "User").objects.all().delete()  # then back to the latest state
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_it_refuses_logins_that_differ_only_by_case_and_names_them(before_0003):
    User = before_0003.get_model("accounts", "User")
    first = User.objects.create(login="admin", password="!")
    second = User.objects.create(login="Admin", password="!")

    with pytest.raises(RuntimeError) as refused:
        migrate(AFTER)

    assert f"admin (id {first.pk})" in str(refused.value) and f"Admin (id {second.pk})" in str(refused.value)
    assert User.objects.count() == 2  # nobody renamed


def test_it_applies_when_every_login_is_unique_in_any_case(before_0003):
    User = before_0003.get_model("accounts", "User")
    User.objects.create(login="admin", password="!")
    User.objects.create(login="alice", password="!")

    apps = migrate(AFTER)

    assert apps.get_model("accounts", "User").objects.count() == 2

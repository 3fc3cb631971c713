"""Fixtures for protected aliases: Alice owns the workspace, Bob and Dave are members, Carol a
viewer, Eve an outsider (the root conftest.py, plus Dave). `resnet` has three public versions
of Bob's with different metrics and branches; `production` names version 1."""

import pytest

from conftest import make_user
from registry import services
from registry.models import Role
from registry.tests.factories import upload


@pytest.fixture
def dave(workspace, alice):
    user = make_user("dave")
    services.membership_set(workspace=workspace, actor=alice, user=user, role=Role.MEMBER)
    return user


@pytest.fixture
def resnet(bob, project):
    """v1 (accuracy 0.80, main), v2 (0.92, main), v3 (0.85, dev); production on v1."""
    versions = [
        upload(bob, project, "resnet", metrics={"accuracy": 0.80, "loss": 0.5}, git_branch="main"),
        upload(bob, project, "resnet", metrics={"accuracy": 0.92, "loss": 0.3}, git_branch="main"),
        upload(bob, project, "resnet", metrics={"accuracy": 0.85, "loss": 0.4}, git_branch="dev"),
    ]
    services.alias_set(registered_model=versions[0].registered_model, name="production", version=1, user=bob)
    return versions

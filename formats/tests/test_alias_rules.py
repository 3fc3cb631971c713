"""Alias rules on what the files are: "safe formats only" and "no suspicious files" are
conditions in the search language (docs/lifecycle.md, docs/formats.md)."""

import pytest

from formats import services
from formats.tests import builders
from promotions.tests.helpers import alias_url, make_rule, version_of
from registry.tests.assertions import assert_error
from registry.tests.factories import upload

pytestmark = pytest.mark.django_db

SAFE_ONLY = 'format.verdict = "safe"'
NO_SUSPICIOUS = 'format.verdict in ("safe", "pickle", "unknown")'


@pytest.fixture
def versions(alice, project, tmp_path):
    """clf v1 safetensors, v2 a suspicious pickle, v3 a plain data pickle, v4 not read yet."""
    made = [
        upload(alice, project, "clf", content=builders.safetensors_bytes()),
        upload(alice, project, "clf", content=builders.malicious_pickle(tmp_path / "sentinel")),
        upload(alice, project, "clf", content=builders.torch_zip()),
        upload(alice, project, "clf", content=builders.safetensors_bytes(metadata={"v": "4"})),
    ]
    for model in made[:3]:
        services.version_introspect(model=model)
    return made


def move(api, user, versions, number):
    return api.as_user(user).put(alias_url(versions[0]), {"version": number}, format="json")


@pytest.mark.parametrize(("condition", "allowed"), [(SAFE_ONLY, {1}), (NO_SUSPICIOUS, {1, 3})])
def test_a_rule_on_the_verdict_lets_only_those_versions_take_the_alias(api, alice, bob, versions, condition, allowed):
    make_rule(versions[0].project, alice, condition=condition)
    for number in (1, 2, 3, 4):
        response = move(api, bob, versions, number)
        if number in allowed:
            assert response.status_code in (200, 201), response.content
            assert version_of(versions[0]) == number
        else:
            body = assert_error(response, 409)
            assert body["failed_rules"][0]["code"] == "condition"
            assert version_of(versions[0]) != number


def test_the_refusal_says_what_the_version_is(api, alice, bob, versions):
    make_rule(versions[0].project, alice, condition=SAFE_ONLY)
    body = assert_error(move(api, bob, versions, 2), 409)
    assert body["failed_rules"][0]["message"] == (
        'format.verdict is "suspicious"; the rule for production needs format.verdict = "safe"'
    )
    body = assert_error(move(api, bob, versions, 4), 409)
    assert body["failed_rules"][0]["message"].startswith("format.verdict has none;")

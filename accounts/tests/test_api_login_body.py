"""The documented `curl … -d '{"login": …, "password": …}'`: a JSON object sent with curl's form
content type signs in (accounts/api/parsers.py), on the sign-in and token endpoints only."""

import json
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken
from conftest import PASSWORD

LOGIN_URL = "/api/v1/auth/login/"
TOKENS_URL = "/api/v1/auth/tokens/"
FORM = "application/x-www-form-urlencoded"  # what `curl -d` sends


@pytest.fixture
def caller():
    return APIClient()


def curl_d(caller, url, text: str):
    return caller.post(url, text, content_type=FORM)


def test_a_json_login_sent_as_curl_d_sends_it_signs_in(caller, alice):
    response = curl_d(caller, LOGIN_URL, json.dumps({"login": "alice", "password": PASSWORD}))

    assert response.status_code == 200, response.content
    assert response.json()["data"]["user"]["id"] == alice.id


def test_spaces_before_the_json_object_do_not_matter(caller, alice):
    response = curl_d(caller, LOGIN_URL, '\n  {"login":"alice", "password":' + json.dumps(PASSWORD) + "}")

    assert response.status_code == 200, response.content


def test_a_wrong_password_in_such_a_body_is_a_401_and_counts_against_the_login(caller, alice, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login_user": "2/min"},
    }
    wrong = json.dumps({"login": "alice", "password": "nope"})

    assert [curl_d(caller, LOGIN_URL, wrong).status_code for _ in range(3)] == [401, 401, 429]
    # The per-login limit read the login from the JSON: the right password is refused now too.
    assert curl_d(caller, LOGIN_URL, json.dumps({"login": "alice", "password": PASSWORD})).status_code == 429


def test_form_fields_still_sign_in(caller, alice):
    response = curl_d(caller, LOGIN_URL, urlencode({"login": "alice", "password": PASSWORD}))

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("body", ['{"login": "alice"', "[1, 2]", '{"login": "alice", "password": 1e999}', "{}"])
def test_a_body_that_is_no_json_object_is_a_clear_400(caller, alice, body):
    response = curl_d(caller, LOGIN_URL, body)

    assert response.status_code == 400, response.content
    assert response.json()["status"] == "error"


def test_a_token_is_created_from_a_json_body_sent_as_a_form(caller, alice):
    jwt = curl_d(caller, LOGIN_URL, json.dumps({"login": "alice", "password": PASSWORD})).json()["data"]
    caller.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt['access_token']}")

    response = curl_d(caller, TOKENS_URL, json.dumps({"name": "from curl", "read_only": True}))

    assert response.status_code == 201, response.content
    token = ApiToken.objects.get(user=alice)
    assert (token.name, token.read_only) == ("from curl", True)


def test_other_endpoints_still_read_a_form_as_a_form(caller, alice):
    caller.force_authenticate(alice)

    response = curl_d(caller, "/api/v1/workspaces/", json.dumps({"name": "from curl"}))

    assert response.status_code == 400  # the whole text was one form field's name: no `name`

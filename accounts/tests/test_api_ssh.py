"""SSH-key sign-in through the whole request stack, with keys made here by `cryptography`."""

import base64
import hashlib
import json
import struct
import threading
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, padding, rsa
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.api.throttles import LoginNameThrottle
from accounts.models import SshChallenge, SshPublicKey
from accounts.ssh import signed_message
from conftest import PASSWORD

KEYS = "/api/v1/auth/ssh-keys/"
CHALLENGE = "/api/v1/auth/ssh/challenge/"
LOGIN = "/api/v1/auth/ssh/login/"


def openssh(private_key, comment="me@laptop") -> str:
    line = private_key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return f"{line.decode()} {comment}".strip()


def expected_fingerprint(line: str) -> str:
    digest = hashlib.sha256(base64.b64decode(line.split()[1])).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def sign(private_key, message: bytes) -> str:
    if isinstance(private_key, rsa.RSAPrivateKey):
        signature = private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    else:
        signature = private_key.sign(message)
    return base64.b64encode(signature).decode()


@pytest.fixture(scope="module")
def ed_key():
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def register(api, user, private_key, name="laptop"):
    response = api.as_user(user).post(KEYS, {"name": name, "public_key": openssh(private_key)}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]


def ask_challenge(login: str) -> str:
    response = APIClient().post(CHALLENGE, {"login": login}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["data"]["challenge"]


def answer(login: str, challenge: str, private_key, signed_login: str | None = None):
    signature = sign(private_key, signed_message(signed_login or login, challenge))
    return APIClient().post(LOGIN, {"login": login, "challenge": challenge, "signature": signature}, format="json")


def sign_in(login: str, private_key):
    return answer(login, ask_challenge(login), private_key)


# --- registering keys


@pytest.mark.parametrize("key_fixture, key_type", [("ed_key", "ssh-ed25519"), ("rsa_key", "ssh-rsa")])
def test_it_registers_a_key_with_its_type_and_fingerprint(api, alice, request, key_fixture, key_type):
    private_key = request.getfixturevalue(key_fixture)

    data = register(api, alice, private_key)

    assert set(data) == {"id", "name", "fingerprint", "key_type", "created", "last_used"}
    assert data["name"] == "laptop"
    assert data["key_type"] == key_type
    assert data["fingerprint"] == expected_fingerprint(openssh(private_key))
    assert data["last_used"] is None
    stored = SshPublicKey.objects.get(pk=data["id"])
    assert stored.user == alice
    assert stored.public_key == openssh(private_key)


def test_it_keeps_the_key_line_in_canonical_form(api, alice, ed_key):
    key_type, body = openssh(ed_key, comment="").split()
    line = f"  {key_type}   {body}   alice@work box \n"

    response = api.as_user(alice).post(KEYS, {"name": "work", "public_key": line}, format="json")

    assert response.status_code == 201, response.content
    assert SshPublicKey.objects.get().public_key == f"{key_type} {body} alice@work box"


def test_it_rejects_rsa_keys_shorter_than_2048_bits(api, alice):
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024)

    response = api.as_user(alice).post(KEYS, {"name": "old", "public_key": openssh(short)}, format="json")

    assert response.status_code == 400
    assert "2048" in response.json()["errors"]["public_key"][0]
    assert not SshPublicKey.objects.exists()


def dsa_line() -> str:
    """An `ssh-dss` line built by hand: cryptography warns that it will stop writing them."""
    numbers = dsa.generate_private_key(key_size=1024).public_key().public_numbers()

    def string(data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + data

    def mpint(value: int) -> bytes:
        return string(value.to_bytes(value.bit_length() // 8 + 1, "big"))

    p, q, g = numbers.parameter_numbers.p, numbers.parameter_numbers.q, numbers.parameter_numbers.g
    blob = string(b"ssh-dss") + mpint(p) + mpint(q) + mpint(g) + mpint(numbers.y)
    return f"ssh-dss {base64.b64encode(blob).decode()} old@box"


@pytest.mark.parametrize(
    "make_line",
    [dsa_line, lambda: openssh(ec.generate_private_key(ec.SECP256R1()))],
    ids=["dsa", "ecdsa"],
)
def test_it_rejects_other_key_types(api, alice, make_line):
    response = api.as_user(alice).post(KEYS, {"name": "x", "public_key": make_line()}, format="json")

    assert response.status_code == 400
    assert "ssh-ed25519 and ssh-rsa" in response.json()["errors"]["public_key"][0]


@pytest.mark.parametrize(
    "line",
    [
        "",
        "ssh-ed25519",
        "ssh-ed25519 not-base64!!",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5",  # cut short
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        "ssh-ed25519-cert-v01@openssh.com AAAA",
    ],
    ids=["empty", "no-body", "not-base64", "truncated", "private-key", "certificate"],
)
def test_it_rejects_what_is_not_a_public_key(api, alice, line):
    response = api.as_user(alice).post(KEYS, {"name": "x", "public_key": line}, format="json")

    assert response.status_code == 400
    assert "public_key" in response.json()["errors"]


def test_it_rejects_a_key_whose_body_has_another_type(api, alice, rsa_key):
    body = openssh(rsa_key).split()[1]

    response = api.as_user(alice).post(KEYS, {"name": "x", "public_key": f"ssh-ed25519 {body}"}, format="json")

    assert response.status_code == 400


def test_it_refuses_the_same_key_twice_even_with_another_comment(api, alice, ed_key):
    register(api, alice, ed_key)

    again = openssh(ed_key, comment="renamed")
    response = api.as_user(alice).post(KEYS, {"name": "again", "public_key": again}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"public_key": ["You have already registered this key."]}
    assert SshPublicKey.objects.count() == 1


def test_it_lists_only_your_own_keys(api, alice, bob, ed_key, rsa_key, django_assert_num_queries):
    register(api, alice, ed_key, name="alice-laptop")
    register(api, bob, rsa_key, name="bob-laptop")
    client = api.as_user(alice)

    with django_assert_num_queries(3):  # the user, the count, the page
        response = client.get(KEYS)

    assert response.status_code == 200
    assert [key["name"] for key in response.json()["data"]] == ["alice-laptop"]


def test_it_deletes_your_own_key(api, alice, ed_key):
    key = register(api, alice, ed_key)

    response = api.as_user(alice).delete(f"{KEYS}{key['id']}/")

    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    assert not SshPublicKey.objects.exists()
    assert sign_in("alice", ed_key).status_code == 401


def test_it_hides_other_users_keys(api, alice, bob, ed_key):
    key = register(api, bob, ed_key)

    response = api.as_user(alice).delete(f"{KEYS}{key['id']}/")

    assert response.status_code == 404
    assert SshPublicKey.objects.filter(pk=key["id"]).exists()


def test_another_user_may_register_the_same_public_key(api, alice, bob, ed_key):
    register(api, alice, ed_key)

    register(api, bob, ed_key)

    assert SshPublicKey.objects.count() == 2


def test_anonymous_users_cannot_list_or_register_keys(db, api, ed_key):
    client = api.as_user(None)

    assert client.get(KEYS).status_code == 401
    response = client.post(KEYS, {"name": "x", "public_key": openssh(ed_key)}, format="json")
    assert response.status_code == 401
    assert not SshPublicKey.objects.exists()


# --- challenges


def test_a_challenge_is_random_and_expires_in_a_minute(alice):
    before = timezone.now()

    response = APIClient().post(CHALLENGE, {"login": "alice"}, format="json")

    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == {"challenge", "expires"}
    assert len(data["challenge"]) >= 40
    assert data["challenge"] != ask_challenge("alice")
    stored = SshChallenge.objects.get(challenge=data["challenge"])
    assert stored.login == "alice"
    assert stored.used is None
    assert before + timedelta(seconds=59) <= stored.expires <= timezone.now() + timedelta(seconds=60)


def test_a_challenge_looks_the_same_for_unknown_logins(alice):
    known = APIClient().post(CHALLENGE, {"login": "alice"}, format="json")
    unknown = APIClient().post(CHALLENGE, {"login": "nobody"}, format="json")

    assert known.status_code == unknown.status_code == 200
    assert set(known.json()["data"]) == set(unknown.json()["data"])


def test_a_challenge_needs_a_login(db):
    response = APIClient().post(CHALLENGE, {}, format="json")

    assert response.status_code == 400
    assert "login" in response.json()["errors"]


def test_asking_for_challenges_drops_long_expired_ones(db):
    old = SshChallenge.objects.issue("alice")
    SshChallenge.objects.filter(pk=old.pk).update(expires=timezone.now() - timedelta(hours=2))

    ask_challenge("alice")

    assert not SshChallenge.objects.filter(pk=old.pk).exists()


# --- signing in


@pytest.mark.parametrize("key_fixture", ["ed_key", "rsa_key"])
def test_it_signs_in_with_a_registered_key(api, alice, request, key_fixture):
    private_key = request.getfixturevalue(key_fixture)
    key = register(api, alice, private_key)
    challenge = ask_challenge("alice")

    response = answer("alice", challenge, private_key)

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert set(data) == {"access_token", "valid_for", "user"}
    assert data["user"] == {"id": alice.id, "login": "alice", "full_name": "Alice", "email": "alice@example.com"}
    assert SshPublicKey.objects.get(pk=key["id"]).last_used is not None
    assert SshChallenge.objects.get(challenge=challenge).used is not None
    me = APIClient().get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Bearer {data['access_token']}")
    assert me.status_code == 200
    assert me.json()["data"]["login"] == "alice"


def test_it_tries_each_of_the_users_keys(api, alice, ed_key, rsa_key):
    register(api, alice, ed_key, name="one")
    register(api, alice, rsa_key, name="two")

    assert sign_in("alice", rsa_key).status_code == 200
    assert sign_in("alice", ed_key).status_code == 200


def test_it_refuses_a_key_the_user_has_not_registered(api, alice, bob, ed_key, rsa_key):
    register(api, alice, ed_key)
    register(api, bob, rsa_key)

    response = sign_in("alice", rsa_key)

    assert response.status_code == 401
    assert response.json()["message"] == "The signature matches none of this user's SSH keys."


def test_a_failed_answer_leaves_the_challenge_open(api, alice, ed_key):
    register(api, alice, ed_key)
    challenge = ask_challenge("alice")

    assert answer("alice", challenge, ed25519.Ed25519PrivateKey.generate()).status_code == 401
    assert answer("alice", challenge, ed_key).status_code == 200


def test_it_refuses_a_replayed_challenge(api, alice, ed_key):
    register(api, alice, ed_key)
    challenge = ask_challenge("alice")
    assert answer("alice", challenge, ed_key).status_code == 200

    response = answer("alice", challenge, ed_key)

    assert response.status_code == 401
    assert "already been used" in response.json()["message"]


def test_it_refuses_an_expired_challenge(api, alice, ed_key):
    register(api, alice, ed_key)
    challenge = ask_challenge("alice")
    SshChallenge.objects.filter(challenge=challenge).update(expires=timezone.now() - timedelta(seconds=1))

    response = answer("alice", challenge, ed_key)

    assert response.status_code == 401
    assert "expired" in response.json()["message"]
    assert SshChallenge.objects.get(challenge=challenge).used is None


def test_it_refuses_a_challenge_issued_for_another_login(api, alice, bob, ed_key):
    register(api, alice, ed_key)
    challenge = ask_challenge("bob")

    response = answer("alice", challenge, ed_key)

    assert response.status_code == 401
    assert "Unknown challenge" in response.json()["message"]


def test_it_refuses_a_challenge_it_never_issued(api, alice, ed_key):
    register(api, alice, ed_key)

    response = answer("alice", "made-up", ed_key)

    assert response.status_code == 401
    assert "Unknown challenge" in response.json()["message"]


def test_a_challenge_and_its_answer_sent_as_curl_d_sends_json_sign_in(api, alice, ed_key):
    """curl's -d labels a JSON body as a form (accounts/api/parsers.py), as the documented sign-in does."""
    register(api, alice, ed_key)
    form = "application/x-www-form-urlencoded"
    asked = APIClient().post(CHALLENGE, json.dumps({"login": "alice"}), content_type=form)
    assert asked.status_code == 200, asked.content
    challenge = asked.json()["data"]["challenge"]
    signature = sign(ed_key, signed_message("alice", challenge))
    body = json.dumps({"login": "alice", "challenge": challenge, "signature": signature})
    response = APIClient().post(LOGIN, body, content_type=form)
    assert response.status_code == 200, response.content
    assert response.json()["data"]["user"]["login"] == "alice"
    assert SshChallenge.objects.get(challenge=challenge).used is not None


def test_it_refuses_a_signature_over_another_login(api, alice, bob, ed_key):
    register(api, alice, ed_key)
    register(api, bob, ed_key)
    challenge = ask_challenge("alice")

    response = answer("alice", challenge, ed_key, signed_login="bob")

    assert response.status_code == 401


def test_it_refuses_a_signature_that_is_not_base64(api, alice, ed_key):
    register(api, alice, ed_key)
    body = {"login": "alice", "challenge": ask_challenge("alice"), "signature": "not base64!"}

    response = APIClient().post(LOGIN, body, format="json")

    assert response.status_code == 401
    assert "base64" in response.json()["message"]


def test_it_refuses_deactivated_users(api, alice, ed_key):
    register(api, alice, ed_key)
    alice.is_active = False
    alice.save()

    response = sign_in("alice", ed_key)

    assert response.status_code == 401
    assert response.json()["message"] == "This account is deactivated."


def test_it_answers_unknown_logins_like_a_wrong_key(db, ed_key):
    response = sign_in("nobody", ed_key)

    assert response.status_code == 401
    assert response.json()["message"] == "The signature matches none of this user's SSH keys."


def test_an_answer_needs_all_three_fields(db):
    response = APIClient().post(LOGIN, {"login": "alice"}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"challenge", "signature"}


def test_it_throttles_attempts_per_login_like_password_sign_in(db):
    allowed = LoginNameThrottle().num_requests

    statuses = [APIClient().post(CHALLENGE, {"login": "alice"}, format="json").status_code for _ in range(allowed + 1)]

    assert statuses == [200] * allowed + [429]


def test_failed_ssh_sign_ins_lock_the_login_out_of_challenges_and_passwords(api, alice, ed_key, rsa_key):
    register(api, alice, ed_key)
    allowed = LoginNameThrottle().num_requests
    for _ in range(allowed):
        assert sign_in("alice", rsa_key).status_code == 401  # a key alice never registered

    assert APIClient().post(CHALLENGE, {"login": "alice"}, format="json").status_code == 429
    password = APIClient().post("/api/v1/auth/login/", {"login": "alice", "password": PASSWORD}, format="json")
    assert password.status_code == 429


def test_successful_ssh_sign_ins_do_not_lock_the_login(api, alice, ed_key):
    register(api, alice, ed_key)
    allowed = LoginNameThrottle().num_requests
    for _ in range(allowed // 2 + 1):  # each also asks for a challenge, which is counted on its own
        assert sign_in("alice", ed_key).status_code == 200
    assert (
        APIClient().post("/api/v1/auth/login/", {"login": "alice", "password": PASSWORD}, format="json").status_code
        == 200
    )


def test_asking_for_challenges_is_not_counted_as_failed_sign_ins(alice):
    allowed = LoginNameThrottle().num_requests
    for _ in range(allowed):
        ask_challenge("alice")

    password = APIClient().post("/api/v1/auth/login/", {"login": "alice", "password": PASSWORD}, format="json")
    assert password.status_code == 200


def test_a_challenge_is_consumed_only_once(db):
    challenge = SshChallenge.objects.issue("alice")

    assert challenge.consume() is True
    assert challenge.consume() is False


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a server database for real concurrency")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_answers_let_only_one_in(alice, ed_key):
    key = SshPublicKey(user=alice, name="laptop", public_key=openssh(ed_key))
    key.full_clean()
    key.save()
    challenge = ask_challenge("alice")
    barrier = threading.Barrier(4)
    statuses = []

    def attempt():
        barrier.wait()
        try:
            statuses.append(answer("alice", challenge, ed_key).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 401, 401, 401]

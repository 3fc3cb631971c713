"""The per-request floor (bench/floor.py): what an authenticated no-op and a get by id cost in
queries, per kind of credential, and that the prepared lookups behind them (maisie_site/prepared.py,
accounts/authentication.py, registry.querysets.visible_model) check what the ORM's queries did."""

from datetime import timedelta

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import ApiToken, ThrottleCounter
from maisie_site.prepared import STAND_IN_INT, Prepared
from registry.models import MLModel
from registry.querysets import visible_model
from registry.tests.factories import upload

NOOP = "/api/v1/tags/?per_page=1"


def detail(model) -> str:
    return f"/api/v1/models/{model.pk}/"


def make_token(user, **fields) -> tuple[ApiToken, str]:
    prefix, secret = ApiToken.generate()
    token = ApiToken.objects.create(user=user, name="ci", prefix=prefix, hashed_secret=ApiToken.hash(secret), **fields)
    return token, secret


def bearer(credential: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {credential}")
    return client


def jwt_for(user) -> str:
    return str(AccessToken.for_user(user))


def with_session(user) -> APIClient:
    """A browser session made as django.contrib.auth.login makes one."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    client = APIClient()
    client.cookies["sessionid"] = session.session_key
    return client


@pytest.fixture
def clients(bob):
    """Bob signed in three ways; his token was used a moment ago, so no request writes last_used."""
    _, secret = make_token(bob, last_used=timezone.now())
    return {"jwt": bearer(jwt_for(bob)), "token": bearer(secret), "session": with_session(bob)}


# --- The queries a request makes, per credential ---------------------------------------------

# The credential's own: the JWT's user; the token with its user; the session, then its user.
CREDENTIAL_QUERIES = {"jwt": 1, "token": 1, "session": 2}
NOOP_QUERIES = 2  # the page of tags and its total
GET_QUERIES = 3  # the visible model with its project and uploader, its tags, its aliases


@pytest.mark.parametrize("kind", sorted(CREDENTIAL_QUERIES))
def test_an_authenticated_no_op_makes_its_credentials_queries_and_the_pages(
    kind, clients, project, bob, django_assert_num_queries
):
    upload(bob, project, tags=["cnn"])

    with django_assert_num_queries(CREDENTIAL_QUERIES[kind] + NOOP_QUERIES):
        response = clients[kind].get(NOOP)

    assert response.status_code == 200
    assert [tag["name"] for tag in response.json()["data"]] == ["cnn"]


@pytest.mark.parametrize("kind", sorted(CREDENTIAL_QUERIES))
def test_a_get_by_id_makes_its_credentials_query_and_three_more(kind, clients, project, bob, django_assert_num_queries):
    model = upload(bob, project, tags=["cnn"])

    with django_assert_num_queries(CREDENTIAL_QUERIES[kind] + GET_QUERIES):
        response = clients[kind].get(detail(model))

    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["id"], data["user"]["login"], data["project_id"]) == (model.pk, "bob", project.pk)


def test_a_token_used_over_a_minute_ago_writes_last_used_once(bob, django_assert_num_queries):
    token, secret = make_token(bob, last_used=timezone.now() - timedelta(minutes=5))
    client = bearer(secret)

    with django_assert_num_queries(CREDENTIAL_QUERIES["token"] + 1 + NOOP_QUERIES):
        assert client.get(NOOP).status_code == 200
    with django_assert_num_queries(CREDENTIAL_QUERIES["token"] + NOOP_QUERIES):
        assert client.get(NOOP).status_code == 200

    token.refresh_from_db()
    assert timezone.now() - token.last_used < timedelta(seconds=30)


def test_authenticated_reads_count_nothing_in_the_throttle_counters(clients, project, bob):
    """The sign-in limits count sign-ins only; an API read writes no counter row."""
    model = upload(bob, project)

    for client in clients.values():
        assert client.get(NOOP).status_code == 200
        assert client.get(detail(model)).status_code == 200

    assert not ThrottleCounter.objects.exists()


# --- API tokens: what the one-query lookup still refuses ---------------------------------------


def test_an_api_token_signs_its_users_requests(bob):
    _, secret = make_token(bob)

    assert bearer(secret).get("/api/v1/users/me/").json()["data"]["login"] == "bob"


@pytest.mark.parametrize(
    "fields",
    [{"expires": timezone.now() - timedelta(seconds=1)}, {"expires": timezone.now()}],
    ids=["expired", "expiring-now"],
)
def test_an_expired_token_is_refused(bob, fields):
    _, secret = make_token(bob, **fields)

    response = bearer(secret).get(NOOP)

    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_a_token_expiring_later_is_accepted(bob):
    _, secret = make_token(bob, expires=timezone.now() + timedelta(hours=1))

    assert bearer(secret).get(NOOP).status_code == 200


def test_a_revoked_token_is_refused(bob):
    token, secret = make_token(bob)
    client = bearer(secret)
    assert client.get(NOOP).status_code == 200

    token.delete()

    assert client.get(NOOP).status_code == 401


def test_a_deactivated_users_token_is_refused(bob):
    _, secret = make_token(bob)
    bob.is_active = False
    bob.save()

    assert bearer(secret).get(NOOP).status_code == 401


def test_a_token_with_the_right_prefix_and_a_wrong_secret_is_refused(bob):
    token, _ = make_token(bob)
    forged = f"{ApiToken.SCHEME}{token.prefix}_{'x' * 43}"

    response = bearer(forged).get(NOOP)

    assert response.status_code == 401
    token.refresh_from_db()
    assert token.last_used is None


def test_a_read_only_token_reads_but_cannot_write(bob, workspace):
    _, secret = make_token(bob, read_only=True)
    client = bearer(secret)

    assert client.get(NOOP).status_code == 200
    response = client.post("/api/v1/tags/", {"name": "new", "workspace_id": workspace.pk}, format="json")

    assert response.status_code == 403
    assert not workspace.tags.filter(name="new").exists()


# --- JWTs: simplejwt's checks, with the user read by a prepared statement ----------------------


def test_a_jwt_issued_before_a_password_change_is_refused(bob):
    token = jwt_for(bob)
    bob.set_password("another-long-password-2")
    bob.save()

    response = bearer(token).get(NOOP)

    assert response.status_code == 401


def test_a_jwt_of_a_deactivated_user_is_refused(bob):
    token = jwt_for(bob)
    bob.is_active = False
    bob.save()

    assert bearer(token).get(NOOP).status_code == 401


def test_a_jwt_without_a_user_id_is_refused(bob):
    token = AccessToken.for_user(bob)
    del token["user_id"]

    assert bearer(str(token)).get(NOOP).status_code == 401


def test_a_jwt_of_a_deleted_user_is_refused(bob):
    token = jwt_for(bob)
    bob.delete()

    assert bearer(token).get(NOOP).status_code == 401


# --- The get by id: visible_model is visible_to, one row at a time -----------------------------


def test_visible_model_finds_exactly_what_visible_to_lets_each_user_see(project, alice, bob, carol, eve, staff):
    public = upload(bob, project, name="public")
    private = upload(bob, project, name="private", private=True)
    people = [alice, bob, carol, eve, staff]

    for user in people:
        for model in (public, private):
            expected = MLModel.objects.visible_to(user).filter(pk=model.pk).exists()
            found = visible_model(user, str(model.pk))
            assert (found is not None) == expected, (user.login, model.name)
            if found is not None:
                assert (found.pk, found.name) == (model.pk, model.name)


def test_visible_model_brings_the_project_and_uploader_in_its_one_query(project, bob, django_assert_num_queries):
    model = upload(bob, project)

    with django_assert_num_queries(1):
        found = visible_model(bob, model.pk)
        assert (found.project.name, found.uploader.login) == (project.name, "bob")
        assert found.created == model.created and found.created.tzinfo is not None


@pytest.mark.parametrize("pk", ["abc", "", "1.5", str(2**63), str(-(2**63) - 1), str(2**80), None])
def test_visible_model_finds_nothing_for_an_id_no_row_can_have(project, bob, pk):
    upload(bob, project)

    assert visible_model(bob, pk) is None


def test_visible_model_shows_nothing_to_anonymous(project, bob):
    from django.contrib.auth.models import AnonymousUser

    model = upload(bob, project)

    assert visible_model(AnonymousUser(), model.pk) is None


@pytest.mark.parametrize("pk", ["abc", "99999999999999999999999"])
def test_a_get_by_an_id_no_row_can_have_is_404(clients, pk):
    response = clients["jwt"].get(f"/api/v1/models/{pk}/")

    assert response.status_code == 404


# --- The seam itself ---------------------------------------------------------------------------


def test_prepared_refuses_a_queryset_holding_a_value_that_changes_between_calls(bob):
    stale = Prepared(lambda pk: ApiToken.objects.filter(pk=pk, created__lte=timezone.now()), STAND_IN_INT)

    with pytest.raises(ValueError, match="neither a stand-in nor a constant"):
        stale.first(1)


def test_prepared_refuses_a_stand_in_that_never_reaches_the_sql(bob):
    unused = Prepared(lambda pk: ApiToken.objects.all(), STAND_IN_INT)

    with pytest.raises(ValueError, match="does not reach the SQL"):
        unused.first(1)

"""`alias` and `registered_model` in the search language (issue 14), through `q=` of the models
API and the web list, within what the caller may see."""

import pytest

from registry import services
from registry.tests.assertions import assert_error
from registry.tests.factories import upload


@pytest.fixture
def rows(alice, bob, project, workspace):
    """resnet v1-v3 (v2 @production and @canary, v3 @staging), vit v1 (@production), and Bob's
    private draft v1 (@mine, which only Bob sees)."""
    made = {
        "resnet1": upload(alice, project, "resnet"),
        "resnet2": upload(alice, project, "resnet"),
        "resnet3": upload(alice, project, "resnet"),
        "vit1": upload(alice, project, "vit"),
        "draft1": upload(bob, project, "draft", private=True),
    }
    for label, alias in [
        ("resnet2", "production"),
        ("resnet2", "canary"),
        ("resnet3", "staging"),
        ("vit1", "production"),
        ("draft1", "mine"),
    ]:
        model = made[label]
        services.alias_set(
            registered_model=model.registered_model, name=alias, version=model.version, user=model.uploader
        )
    return made


@pytest.fixture
def search(api, rows, alice):
    """search(q, user=alice, **params) -> the labels of the models listed by the API."""
    labels = {model.pk: label for label, model in rows.items()}

    def run(q, user=alice, **params):
        response = api.as_user(user).get("/api/v1/models/", {"per_page": 100, "q": q, **params})
        assert response.status_code == 200, response.content
        return {labels[item["id"]] for item in response.json()["data"]}

    return run


PUBLIC = {"resnet1", "resnet2", "resnet3", "vit1"}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ('alias = "production"', {"resnet2", "vit1"}),
        ('ALIAS = "canary"', {"resnet2"}),
        ('alias = "Production"', set()),  # alias names are lower-case; = is exact
        ('alias != "production"', {"resnet1", "resnet3"}),
        ('not alias = "production"', {"resnet1", "resnet3"}),
        ('alias in ("staging", "canary")', {"resnet2", "resnet3"}),
        ('alias not in ("production")', {"resnet1", "resnet3"}),
        ('alias like "prod%"', {"resnet2", "vit1"}),
        ('alias like "%a%"', {"resnet2", "resnet3"}),
        ("alias exists", {"resnet2", "resnet3", "vit1"}),
        ("not alias exists", {"resnet1"}),
        ('alias = "mine"', set()),  # on Bob's private version: not Alice's to find
        ('registered_model = "resnet"', {"resnet1", "resnet2", "resnet3"}),
        ('registered_model != "resnet"', {"vit1"}),
        ('registered_model like "RES%"', {"resnet1", "resnet2", "resnet3"}),
        ('registered_model in ("vit", "draft")', {"vit1"}),
        ('registered_model = "resnet" and alias exists', {"resnet2", "resnet3"}),
        ('registered_model = "resnet" and not alias exists', {"resnet1"}),
        ('alias = "production" and version > 1', {"resnet2"}),
    ],
)
def test_alias_and_registered_model_conditions(search, q, expected):
    assert search(q) == expected


def test_registered_model_takes_an_id(search, rows):
    registered = rows["vit1"].registered_model_id

    assert search(f"registered_model = {registered}") == {"vit1"}
    assert search(f"registered_model in ({registered}, {rows['resnet1'].registered_model_id})") == PUBLIC


def test_the_uploader_of_a_private_version_finds_it_by_its_alias(search, bob):
    assert search('alias = "mine"', user=bob) == {"draft1"}
    assert search('registered_model = "draft"', user=bob) == {"draft1"}
    assert search('registered_model = "draft"') == set()


def test_an_outsider_finds_nothing(search, eve):
    assert search("alias exists", user=eve) == set()


def test_a_moved_alias_is_found_on_its_new_version_only(search, rows, alice):
    resnet = rows["resnet1"].registered_model
    services.alias_set(registered_model=resnet, name="production", version=3, user=alice)

    assert search('alias = "production"') == {"resnet3", "vit1"}


def test_registered_model_orders_by_name(api, rows, alice):
    response = api.as_user(alice).get("/api/v1/models/", {"ordering": "-registered_model,version"})

    names = [(item["name"], item["version"]) for item in response.json()["data"]]
    assert names == [("vit", 1), ("resnet", 1), ("resnet", 2), ("resnet", 3)]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"q": "alias = 3"}, "q", "'alias' compares with quoted alias names at offset 8, found '3'"),
        ({"q": 'alias > "a"'}, "q", "'alias' cannot be used with > at offset 6"),
        ({"q": "alias.x exists"}, "q", "'alias' has no keys"),
        ({"q": "registered_model exists"}, "q", "'registered_model' cannot be used with exists"),
        ({"ordering": "alias"}, "ordering", "Models cannot be ordered by alias, as a model may have several"),
    ],
)
def test_what_the_fields_cannot_answer_is_a_400_naming_it(api, rows, alice, params, field, message):
    body = assert_error(api.as_user(alice).get("/api/v1/models/", params), 400)

    assert message in body["errors"][field][0]


def test_the_web_list_takes_the_same_query(client, rows, alice, project):
    client.force_login(alice)

    for path in ("/models/", f"/projects/{project.pk}/"):
        response = client.get(path, {"q": 'alias = "production"'})

        assert response.status_code == 200
        content = response.content.decode()
        listed = {label for label, model in rows.items() if f'href="/models/{model.pk}/"' in content}
        assert listed == {"resnet2", "vit1"}, path

"""Assertions on the API's wire format, shared by the API test modules."""


def assert_error(response, status_code: int) -> dict:
    """Errors are JSON without a `data` key; that is how the published client tells them apart."""
    assert response.status_code == status_code, response.content
    body = response.json()
    assert "data" not in body
    assert body["status"] == "error"
    return body


def model_list_queries() -> int:
    """Statements of a model list request: the user behind the JWT, the count, the page and, where
    the database does not render the page with its tags and aliases (registry/api/rendered.py),
    the tags and the alias names (one query each for the page)."""
    from django.db import connection

    return 3 if connection.vendor == "postgresql" else 5

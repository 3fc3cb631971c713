import hashlib

from registry.tests.factories import upload_form


def test_member_uploads_and_downloads_a_model(api, project, bob):
    client = api.as_user(bob)
    response = client.post("/api/v1/models/", upload_form(project, content=b"abc" * 1000, tags="cnn, best"))
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["version"] == 1
    assert data["file"]["sha256"] == hashlib.sha256(b"abc" * 1000).hexdigest()
    download = client.get(data["_links"]["download"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"abc" * 1000

"""`GET /api/v1/models/<id>/download/`: the stored bytes, streamed, with digest and ranges."""

import base64
import hashlib
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from registry import services
from registry.tests.factories import upload, upload_form

CONTENT = bytes(range(256)) * 4  # 1024 bytes, every byte value, so ranges are easy to check
DIGEST = hashlib.sha256(CONTENT).hexdigest()


def url(model) -> str:
    return f"/api/v1/models/{model.pk}/download/"


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def upload_named(user, project, file_name: str, content: bytes = CONTENT):
    return services.model_upload(user=user, project=project, name="resnet", file=SimpleUploadedFile(file_name, content))


@pytest.fixture
def model(bob, project):
    return upload(bob, project, content=CONTENT)


class TestDownload:
    def test_a_member_downloads_the_uploaded_bytes(self, api, model, bob):
        response = api.as_user(bob).get(url(model))

        assert response.status_code == 200
        assert body(response) == CONTENT
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Length"] == str(len(CONTENT))

    def test_it_follows_the_download_link_of_an_upload_through_the_api(self, api, project, bob):
        client = api.as_user(bob)
        created = client.post("/api/v1/models/", upload_form(project, content=CONTENT)).json()["data"]

        response = client.get(created["_links"]["download"])

        assert response.status_code == 200
        assert body(response) == CONTENT
        assert response["ETag"] == f'"{created["file"]["sha256"]}"'

    def test_it_sends_the_sha256_as_etag_and_digest(self, api, model, bob):
        response = api.as_user(bob).get(url(model))

        assert response["ETag"] == f'"{DIGEST}"'
        assert response["Digest"] == "sha-256=" + base64.b64encode(hashlib.sha256(CONTENT).digest()).decode()
        assert response["Accept-Ranges"] == "bytes"

    def test_it_sends_the_file_as_an_attachment_with_its_stored_name(self, api, model, bob):
        response = api.as_user(bob).get(url(model))

        assert response["Content-Disposition"] == 'attachment; filename="resnet.pt"'

    def test_it_escapes_quotes_and_keeps_spaces_in_the_name(self, api, project, bob):
        model = upload_named(bob, project, 'my "best" model.pt')

        response = api.as_user(bob).get(url(model))

        assert response.status_code == 200
        assert response["Content-Disposition"] == r'attachment; filename="my \"best\" model.pt"'

    def test_it_encodes_a_non_ascii_name_per_rfc_5987(self, api, project, bob):
        name = 'modèl "ż" 模型.pt'
        model = upload_named(bob, project, name)

        response = api.as_user(bob).get(url(model))

        assert response.status_code == 200
        disposition = response["Content-Disposition"]
        assert disposition == f"attachment; filename*=utf-8''{quote(name)}"
        assert disposition.isascii()

    def test_it_encodes_control_characters_instead_of_breaking_the_header(self, api, project, bob):
        model = upload_named(bob, project, "evil\r\nSet-Cookie: x=1.pt")

        response = api.as_user(bob).get(url(model))

        assert response.status_code == 200
        assert "\n" not in response["Content-Disposition"]
        assert "\r" not in response["Content-Disposition"]
        assert not response.cookies

    def test_the_name_is_encoded_the_same_way_for_a_range(self, api, project, bob):
        model = upload_named(bob, project, "modèl.pt")

        response = api.as_user(bob).get(url(model), HTTP_RANGE="bytes=0-9")

        assert response.status_code == 206
        assert response["Content-Disposition"] == "attachment; filename*=utf-8''mod%C3%A8l.pt"

    def test_it_downloads_an_empty_file(self, api, project, bob):
        model = upload_named(bob, project, "empty.bin", b"")

        response = api.as_user(bob).get(url(model))

        assert response.status_code == 200
        assert body(response) == b""
        assert response["ETag"] == f'"{hashlib.sha256(b"").hexdigest()}"'

    def test_the_owner_and_a_viewer_may_download(self, api, model, alice, carol):
        for user in (alice, carol):
            response = api.as_user(user).get(url(model))
            assert response.status_code == 200
            assert body(response) == CONTENT

    def test_staff_may_download_any_model(self, api, project, bob, staff):
        model = upload(bob, project, content=CONTENT, private=True)

        assert body(api.as_user(staff).get(url(model))) == CONTENT

    def test_the_uploader_downloads_their_private_model(self, api, project, bob):
        model = upload(bob, project, content=CONTENT, private=True)

        assert body(api.as_user(bob).get(url(model))) == CONTENT

    def test_someone_elses_private_model_is_404_even_for_the_owner(self, api, project, alice, bob, carol):
        model = upload(bob, project, content=CONTENT, private=True)

        for user in (alice, carol):
            response = api.as_user(user).get(url(model))
            assert response.status_code == 404
            assert "data" not in response.json()

    def test_an_outsider_gets_404(self, api, model, eve):
        response = api.as_user(eve).get(url(model))

        assert response.status_code == 404
        assert "data" not in response.json()

    def test_anonymous_gets_401(self, api, model):
        response = api.as_user(None).get(url(model))

        assert response.status_code == 401
        assert "data" not in response.json()

    def test_an_unknown_model_is_404(self, api, model, bob):
        assert api.as_user(bob).get("/api/v1/models/999999/download/").status_code == 404


class TestRange:
    @pytest.mark.parametrize(
        ("header", "start", "end"),
        [
            ("bytes=0-9", 0, 9),
            ("bytes=10-", 10, 1023),
            ("bytes=-5", 1019, 1023),
            ("bytes=1000-5000", 1000, 1023),  # the end is clipped to the file
            ("bytes=-5000", 0, 1023),  # a suffix longer than the file is the whole file
            ("bytes=1023-1023", 1023, 1023),
        ],
    )
    def test_it_answers_206_with_the_requested_bytes(self, api, model, bob, header, start, end):
        response = api.as_user(bob).get(url(model), HTTP_RANGE=header)

        assert response.status_code == 206
        assert body(response) == CONTENT[start : end + 1]
        assert response["Content-Range"] == f"bytes {start}-{end}/1024"
        assert response["Content-Length"] == str(end - start + 1)
        assert response["Content-Type"] == "application/octet-stream"
        assert response["ETag"] == f'"{DIGEST}"'

    @pytest.mark.parametrize("header", ["bytes=1024-", "bytes=5000-6000", "bytes=-0"])
    def test_an_unsatisfiable_range_is_416(self, api, model, bob, header):
        response = api.as_user(bob).get(url(model), HTTP_RANGE=header)

        assert response.status_code == 416
        assert response["Content-Range"] == "bytes */1024"

    @pytest.mark.parametrize("header", ["bytes=0-1,5-9", "lines=1-2", "bytes=abc", "bytes=-"])
    def test_it_sends_the_whole_file_for_a_range_it_does_not_serve(self, api, model, bob, header):
        response = api.as_user(bob).get(url(model), HTTP_RANGE=header)

        assert response.status_code == 200
        assert body(response) == CONTENT

    def test_it_serves_the_range_when_if_range_matches(self, api, model, bob):
        response = api.as_user(bob).get(url(model), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=f'"{DIGEST}"')

        assert response.status_code == 206
        assert body(response) == CONTENT[:10]

    @pytest.mark.parametrize("if_range", ['"0000"', f'W/"{DIGEST}"', "Sat, 28 Nov 2026 00:00:00 GMT"])
    def test_it_sends_the_whole_file_when_if_range_does_not_match(self, api, model, bob, if_range):
        response = api.as_user(bob).get(url(model), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=if_range)

        assert response.status_code == 200
        assert body(response) == CONTENT
        assert "Content-Range" not in response

    def test_a_range_does_not_reveal_a_model_the_caller_cannot_see(self, api, model, eve):
        assert api.as_user(eve).get(url(model), HTTP_RANGE="bytes=0-9").status_code == 404


def test_a_model_whose_file_vanished_answers_a_json_404(api, project, bob):
    model = upload(bob, project)
    model.file.storage.delete(model.file.name)
    response = api.as_user(bob).get(f"/api/v1/models/{model.pk}/download/")
    assert response.status_code == 404
    assert "maisie_fsck" in response.json()["message"]


class TestHostileAndDamaged:
    def test_a_range_of_thousands_of_digits_is_ignored_not_a_500(self, api, model, bob):
        for header in ("bytes=" + "9" * 5000 + "-", "bytes=0-" + "9" * 5000, "bytes=-" + "9" * 5000):
            response = api.as_user(bob).get(url(model), HTTP_RANGE=header)
            assert response.status_code == 200, header
            assert body(response) == CONTENT

    def test_a_range_of_thirty_digits_still_counts(self, api, model, bob):
        response = api.as_user(bob).get(url(model), HTTP_RANGE="bytes=" + "9" * 30 + "-")
        assert response.status_code == 416

    def test_a_stored_file_cut_short_is_not_served_with_the_recorded_digest(self, api, model, bob, caplog):
        path = model.file.storage.path(model.file.name)
        with open(path, "r+b") as stored:
            stored.truncate(100)
        for headers in ({}, {"HTTP_RANGE": "bytes=0-9"}):
            response = api.as_user(bob).get(url(model), **headers)
            assert response.status_code == 500
            assert "maisie_fsck --verify" in response.json()["message"]
            assert "ETag" not in response and "Digest" not in response
        assert any("is 100 bytes, not 1024" in r.getMessage() for r in caplog.records)

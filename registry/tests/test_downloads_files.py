"""A version's files (issue 16): `files/` lists the manifest, `files/<path>` serves one file from
its blob, `download/` of a folder is a stored zip streamed from the blobs (docs/storage.md,
"Downloads"); `@sha256:<digest>` references. Folder versions come from the `folder_version`
factory (ORM + registry/blobs.py), as upload sessions will make them."""

import base64
import datetime
import hashlib
import io
import time
import zipfile
import zlib
from urllib.parse import quote

import pytest
import requests
import zipstream.ng

from registry.models import MLModel
from registry.tests.factories import folder_version, upload
from registry.tests.test_s3 import bucket, moto  # noqa: F401 (fixtures: moto's server, a bucket on it)

CHECKPOINT = {
    "config.json": b"{}",
    "weights/model 1.bin": b"hello\n",
    "weights/shard-00002.bin": bytes(range(256)) * 4096,  # 1 MiB, every byte value
    "tokenizer/vocab_é.txt": b"a\nb\nc\n" * 1000,
    "empty.txt": b"",
}
# docs/storage.md's worked example: its digest is written there.
EXAMPLE = {"config.json": b"{}", "weights/model 1.bin": b"hello\n"}
EXAMPLE_DIGEST = "6171f5b20194d8573bb5cc24a1c3e2bf8b7e1d020c4ab23fc673b8012aa1469e"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def file_url(model, path: str) -> str:
    return f"/api/v1/models/{model.pk}/files/{quote(path, safe='/')}"


@pytest.fixture
def folder(bob, project):
    return folder_version(bob, project, CHECKPOINT)


class TestFileList:
    def test_it_lists_the_manifest_in_canonical_order_with_download_links(self, api, folder, bob):
        response = api.as_user(bob).get(f"/api/v1/models/{folder.pk}/files/")

        assert response.status_code == 200
        files = response.json()["data"]
        assert [entry["path"] for entry in files] == sorted(CHECKPOINT, key=str.encode)
        for entry in files:
            content = CHECKPOINT[entry["path"]]
            assert entry["size"] == len(content) and entry["sha256"] == sha(content)
            assert entry["_links"]["download"] == "http://testserver" + file_url(folder, entry["path"])
            assert set(entry) == {"path", "size", "sha256", "_links"}

    def test_every_listed_link_serves_its_file(self, api, folder, bob):
        client = api.as_user(bob)
        for entry in client.get(f"/api/v1/models/{folder.pk}/files/").json()["data"]:
            response = client.get(entry["_links"]["download"])
            assert response.status_code == 200, entry["path"]
            assert body(response) == CHECKPOINT[entry["path"]]

    def test_a_one_file_version_lists_its_one_file(self, api, project, bob):
        model = upload(bob, project, content=b"weights")

        files = api.as_user(bob).get(f"/api/v1/models/{model.pk}/files/").json()["data"]

        assert [(entry["path"], entry["size"], entry["sha256"]) for entry in files] == [
            ("resnet.pt", 7, sha(b"weights"))
        ]
        assert body(api.as_user(bob).get(files[0]["_links"]["download"])) == b"weights"

    def test_the_version_links_to_its_files_and_carries_its_digest(self, api, project, bob):
        model = folder_version(bob, project, EXAMPLE)

        data = api.as_user(bob).get(f"/api/v1/models/{model.pk}/").json()["data"]

        assert data["digest"] == EXAMPLE_DIGEST
        assert data["_links"]["files"] == f"http://testserver/api/v1/models/{model.pk}/files/"

    def test_the_list_page_links_every_version_to_its_files(self, api, folder, bob):
        rows = api.as_user(bob).get("/api/v1/models/").json()["data"]

        assert [row["_links"]["files"] for row in rows] == [f"http://testserver/api/v1/models/{folder.pk}/files/"]


class TestOneFile:
    def test_it_serves_the_bytes_with_etag_and_both_digest_headers(self, api, folder, bob):
        content = CHECKPOINT["weights/shard-00002.bin"]
        raw = base64.b64encode(hashlib.sha256(content).digest()).decode()

        response = api.as_user(bob).get(file_url(folder, "weights/shard-00002.bin"))

        assert response.status_code == 200
        assert body(response) == content
        assert response["Content-Length"] == str(len(content))
        assert response["Content-Type"] == "application/octet-stream"
        assert response["ETag"] == f'"{sha(content)}"'
        assert response["Digest"] == f"sha-256={raw}"
        assert response["Repr-Digest"] == f"sha-256=:{raw}:"
        assert response["Accept-Ranges"] == "bytes"
        assert response["Content-Disposition"] == 'attachment; filename="shard-00002.bin"'

    def test_a_name_with_a_space_and_an_accent_is_found(self, api, folder, bob):
        for path in ("weights/model 1.bin", "tokenizer/vocab_é.txt"):
            assert body(api.as_user(bob).get(file_url(folder, path))) == CHECKPOINT[path]

    def test_a_path_sent_in_nfd_finds_the_nfc_file(self, api, folder, bob):
        response = api.as_user(bob).get(file_url(folder, "tokenizer/vocab_e\u0301.txt"))

        assert response.status_code == 200
        assert body(response) == CHECKPOINT["tokenizer/vocab_é.txt"]

    def test_an_empty_file(self, api, folder, bob):
        response = api.as_user(bob).get(file_url(folder, "empty.txt"))

        assert response.status_code == 200 and body(response) == b""
        assert response["ETag"] == f'"{sha(b"")}"'

    @pytest.mark.parametrize(("header", "start", "end"), [("bytes=0-9", 0, 9), ("bytes=1000-", 1000, 1048575)])
    def test_a_range_is_206_with_those_bytes(self, api, folder, bob, header, start, end):
        content = CHECKPOINT["weights/shard-00002.bin"]

        response = api.as_user(bob).get(file_url(folder, "weights/shard-00002.bin"), HTTP_RANGE=header)

        assert response.status_code == 206
        assert body(response) == content[start : end + 1]
        assert response["Content-Range"] == f"bytes {start}-{end}/{len(content)}"
        assert response["ETag"] == f'"{sha(content)}"'

    def test_an_unsatisfiable_range_is_416(self, api, folder, bob):
        response = api.as_user(bob).get(file_url(folder, "config.json"), HTTP_RANGE="bytes=2-")

        assert response.status_code == 416
        assert response["Content-Range"] == "bytes */2"

    def test_if_range_serves_the_range_only_for_the_file_s_own_etag(self, api, folder, bob):
        content, client = CHECKPOINT["weights/model 1.bin"], api.as_user(bob)
        path = file_url(folder, "weights/model 1.bin")

        same = client.get(path, HTTP_RANGE="bytes=1-", HTTP_IF_RANGE=f'"{sha(content)}"')
        other = client.get(path, HTTP_RANGE="bytes=1-", HTTP_IF_RANGE=f'"{folder.digest}"')

        assert (same.status_code, body(same)) == (206, content[1:])
        assert (other.status_code, body(other)) == (200, content)


@pytest.mark.parametrize("accept", ["application/octet-stream", "application/zip", "*/*"])
def test_a_download_is_served_whatever_accept_asks_for(api, folder, bob, accept):
    client = api.as_user(bob)

    one = client.get(file_url(folder, "config.json"), HTTP_ACCEPT=accept)
    whole = client.get(f"/api/v1/models/{folder.pk}/download/", HTTP_ACCEPT=accept)
    missing = client.get(file_url(folder, "nothing.bin"), HTTP_ACCEPT=accept)

    assert (one.status_code, body(one)) == (200, b"{}")
    assert whole.status_code == 200
    verified_zip(body(whole), CHECKPOINT)
    assert missing.status_code == 404 and "message" in missing.json()


class TestPathsOutsideTheManifest:
    @pytest.mark.parametrize(
        "path",
        [
            "missing.bin",
            "weights",  # a folder, not a file
            "weights/",
            "Config.json",  # case matters, as in the manifest
            "../config.json",
            "weights/../config.json",
            "./config.json",
            "%2e%2e/%2e%2e/settings.py",
            "..%2f..%2fsettings.py",
            "/etc/passwd",
            "weights%5cmodel 1.bin",
            "config.json%00",
            "%00",
            "a" * 5000,
            "\u202egnp.exe",
        ],
    )
    def test_it_is_a_404_whatever_the_path_holds(self, api, folder, bob, path):
        response = api.as_user(bob).get(f"/api/v1/models/{folder.pk}/files/{path}")

        assert response.status_code == 404, response.content
        assert "data" not in response.json()

    def test_a_file_of_another_version_is_not_served(self, api, folder, bob, project):
        other = folder_version(bob, project, {"secret.bin": b"other"}, name="other")

        assert api.as_user(bob).get(file_url(folder, "secret.bin")).status_code == 404
        assert body(api.as_user(bob).get(file_url(other, "secret.bin"))) == b"other"

    def test_the_blob_key_is_not_a_path(self, api, folder, bob):
        key = folder.entries.get(path="config.json").blob.key

        assert api.as_user(bob).get(file_url(folder, key)).status_code == 404


class TestVisibility:
    def test_a_private_version_s_files_are_404_for_everyone_but_its_uploader_and_staff(
        self, api, project, alice, bob, carol, eve, staff
    ):
        model = folder_version(bob, project, EXAMPLE, private=True)
        urls = [
            f"/api/v1/models/{model.pk}/files/",
            file_url(model, "config.json"),
            f"/api/v1/models/{model.pk}/download/",
        ]

        for user in (alice, carol, eve):
            for url in urls:
                response = api.as_user(user).get(url, HTTP_RANGE="bytes=0-0")
                assert response.status_code == 404, (user, url)
                assert "data" not in response.json()
        for user in (bob, staff):
            for url in urls:
                assert api.as_user(user).get(url).status_code == 200, (user, url)

    def test_a_viewer_reads_a_public_version_s_files(self, api, folder, carol):
        assert body(api.as_user(carol).get(file_url(folder, "config.json"))) == b"{}"

    def test_anonymous_callers_get_401(self, api, folder):
        for url in (f"/api/v1/models/{folder.pk}/files/", file_url(folder, "config.json")):
            assert api.as_user(None).get(url).status_code == 401

    def test_an_unknown_version_is_404(self, api, folder, bob):
        assert api.as_user(bob).get("/api/v1/models/999999/files/").status_code == 404
        assert api.as_user(bob).get("/api/v1/models/999999/files/config.json").status_code == 404


def verified_zip(data: bytes, files: dict[str, bytes]) -> zipfile.ZipFile:
    """The zip, every member checked by Python's zipfile: names, bytes, CRC-32, stored."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None  # every member's CRC-32 checked against its bytes
    assert archive.namelist() == sorted(files, key=str.encode)
    for info in archive.infolist():
        content = files[info.filename]
        assert archive.read(info) == content
        assert zlib.crc32(content) == info.CRC
        assert info.file_size == info.compress_size == len(content)
        assert info.compress_type == zipfile.ZIP_STORED
    return archive


class TestFolderZip:
    def test_download_streams_a_zip_of_every_file(self, api, folder, bob):
        response = api.as_user(bob).get(f"/api/v1/models/{folder.pk}/download/")

        assert response.status_code == 200 and response.streaming
        data = body(response)
        assert response["Content-Length"] == str(len(data))
        assert response["Content-Type"] == "application/zip"
        assert response["Content-Disposition"] == 'attachment; filename="checkpoint-v1.zip"'
        assert response["ETag"] == f'"{folder.digest}"'
        assert response["Accept-Ranges"] == "bytes"
        verified_zip(data, CHECKPOINT)

    def test_every_member_carries_the_version_s_creation_time_and_the_bytes_never_change(
        self, api, folder, bob, monkeypatch
    ):
        client = api.as_user(bob)
        first = body(client.get(f"/api/v1/models/{folder.pk}/download/"))
        # An hour later, in another time zone: the same bytes.
        now = time.time() + 3600
        monkeypatch.setattr(time, "time", lambda: now)
        monkeypatch.setenv("TZ", "Asia/Kolkata")
        time.tzset()
        try:
            second = body(client.get(f"/api/v1/models/{folder.pk}/download/"))
        finally:
            monkeypatch.undo()
            time.tzset()

        assert first == second
        created = folder.created.astimezone(datetime.UTC)
        stamp = (*created.timetuple()[:5], created.second // 2 * 2)  # DOS time counts 2 seconds
        assert {info.date_time for info in verified_zip(first, CHECKPOINT).infolist()} == {stamp}

    def test_the_folder_version_is_named_after_the_model_and_its_version(self, api, project, bob):
        folder_version(bob, project, EXAMPLE, name="bert base")
        second = folder_version(bob, project, CHECKPOINT, name="bert base")

        response = api.as_user(bob).get(f"/api/v1/models/{second.pk}/download/")

        assert response["Content-Disposition"] == 'attachment; filename="bert base-v2.zip"'
        verified_zip(body(response), CHECKPOINT)

    @pytest.mark.parametrize("cut", [0, 1, 30, 100, 2000, 1048700, -40, -1])
    def test_a_range_of_the_zip_is_those_bytes_of_it(self, api, folder, bob, cut):
        client = api.as_user(bob)
        whole = body(client.get(f"/api/v1/models/{folder.pk}/download/"))
        start = cut % len(whole)

        response = client.get(
            f"/api/v1/models/{folder.pk}/download/", HTTP_RANGE=f"bytes={start}-", HTTP_IF_RANGE=f'"{folder.digest}"'
        )

        assert response.status_code == 206
        assert body(response) == whole[start:]
        assert response["Content-Range"] == f"bytes {start}-{len(whole) - 1}/{len(whole)}"
        assert response["Content-Length"] == str(len(whole) - start)
        middle = client.get(f"/api/v1/models/{folder.pk}/download/", HTTP_RANGE=f"bytes={start}-{start + 99}")
        assert body(middle) == whole[start : start + 100]

    def test_a_range_with_another_etag_or_past_the_end(self, api, folder, bob):
        client, url = api.as_user(bob), f"/api/v1/models/{folder.pk}/download/"
        whole = body(client.get(url))

        stale = client.get(url, HTTP_RANGE="bytes=10-", HTTP_IF_RANGE='"' + "0" * 64 + '"')
        past = client.get(url, HTTP_RANGE=f"bytes={len(whole)}-")

        assert (stale.status_code, body(stale)) == (200, whole)
        assert past.status_code == 416 and past["Content-Range"] == f"bytes */{len(whole)}"

    def test_zip64_records_are_written_where_sizes_pass_the_limit(self, api, folder, bob, monkeypatch):
        """4 GiB of test data is too slow, so zipstream-ng's limit is lowered: the same code path
        (Zip64 extra fields, the Zip64 end records) and its computed length, read back by zipfile."""
        monkeypatch.setattr(zipstream.ng, "ZIP64_LIMIT", 1000)

        response = api.as_user(bob).get(f"/api/v1/models/{folder.pk}/download/")

        data = body(response)
        assert response["Content-Length"] == str(len(data))
        assert b"PK\x06\x06" in data  # the Zip64 end of central directory record
        verified_zip(data, CHECKPOINT)

    def test_head_answers_the_zip_s_headers(self, api, folder, bob):
        from registry import blobs

        length = api.as_user(bob).get(f"/api/v1/models/{folder.pk}/download/")["Content-Length"]
        for entry in folder.entries.select_related("blob"):
            blobs.storage().delete(entry.blob.key)

        response = api.as_user(bob).head(f"/api/v1/models/{folder.pk}/download/")

        assert response.status_code == 200
        assert response["Content-Length"] == length and response["ETag"] == f'"{folder.digest}"'
        assert body(response) == b""

    def test_a_one_file_version_still_downloads_as_its_file(self, api, project, bob):
        model = upload(bob, project, content=b"weights")

        response = api.as_user(bob).get(f"/api/v1/models/{model.pk}/download/")

        assert body(response) == b"weights"
        assert response["Content-Disposition"] == 'attachment; filename="resnet.pt"'
        assert response["ETag"] == f'"{sha(b"weights")}"'

    def test_the_web_download_button_gives_the_zip(self, client, folder, bob, eve):
        client.force_login(bob)
        response = client.get(f"/models/{folder.pk}/download/")

        assert response.status_code == 200
        assert response["Content-Disposition"] == 'attachment; filename="checkpoint-v1.zip"'
        verified_zip(body(response), CHECKPOINT)
        client.force_login(eve)
        assert client.get(f"/models/{folder.pk}/download/").status_code == 404

    def test_a_blob_gone_from_storage_ends_the_zip_short(self, api, folder, bob):
        entry = folder.entries.select_related("blob").get(path="weights/shard-00002.bin")
        from registry import blobs

        blobs.storage().delete(entry.blob.key)
        response = api.as_user(bob).get(f"/api/v1/models/{folder.pk}/download/")

        # The status was sent before the missing blob was reached: the body stops short of its
        # Content-Length, which every client reports as a failed download.
        with pytest.raises(Exception, match="maisie_fsck"):
            body(response)


class TestDigestReferences:
    def test_a_digest_reference_resolves_to_the_version_holding_those_files(self, api, project, bob, carol):
        model = folder_version(bob, project, EXAMPLE)
        folder_version(bob, project, CHECKPOINT)  # a newer version, other files

        for digest in (EXAMPLE_DIGEST, EXAMPLE_DIGEST.upper()):
            response = api.as_user(carol).get("/api/v1/resolve/", {"ref": f"Vision/resnets/checkpoint@sha256:{digest}"})
            assert response.status_code == 200, response.content
            assert response.json()["data"]["id"] == model.pk
            assert response.json()["data"]["digest"] == EXAMPLE_DIGEST

    def test_the_newest_of_several_versions_with_the_digest_and_as_of_does_not_change_it(self, api, project, bob):
        folder_version(bob, project, EXAMPLE)
        newer = folder_version(bob, project, EXAMPLE)
        ref = f"Vision/resnets/checkpoint@sha256:{EXAMPLE_DIGEST}"

        now = api.as_user(bob).get("/api/v1/resolve/", {"ref": ref})
        then = api.as_user(bob).get("/api/v1/resolve/", {"ref": ref, "as_of": "2001-01-01T00:00:00Z"})

        assert now.json()["data"]["id"] == then.json()["data"]["id"] == newer.pk

    def test_a_one_file_version_resolves_by_its_digest(self, api, project, bob):
        model = upload(bob, project, name="resnet", content=b"hello\n")
        ref = f"Vision/resnets/resnet@sha256:{model.digest}"

        assert api.as_user(bob).get("/api/v1/resolve/", {"ref": ref}).json()["data"]["id"] == model.pk

    def test_a_digest_no_version_the_caller_sees_holds_is_a_404(self, api, project, bob, carol):
        folder_version(bob, project, EXAMPLE, private=True)
        folder_version(bob, project, CHECKPOINT)
        ref = f"Vision/resnets/checkpoint@sha256:{EXAMPLE_DIGEST}"

        response = api.as_user(carol).get("/api/v1/resolve/", {"ref": ref})

        assert response.status_code == 404
        assert "no version with digest" in response.json()["message"]
        assert api.as_user(bob).get("/api/v1/resolve/", {"ref": ref}).status_code == 200

    @pytest.mark.parametrize(
        "suffix",
        ["@sha256:abc", "@sha256:" + "g" * 64, "@sha256:" + "0" * 65, ":2@sha256:" + "0" * 64, "@sha256:"],
    )
    def test_a_malformed_digest_is_a_400(self, api, project, bob, suffix):
        folder_version(bob, project, EXAMPLE)

        response = api.as_user(bob).get("/api/v1/resolve/", {"ref": f"Vision/resnets/checkpoint{suffix}"})

        assert response.status_code == 400
        assert "ref" in response.json()["errors"]


def test_the_factory_makes_what_the_contract_says(project, bob):
    model = folder_version(bob, project, EXAMPLE)

    assert not model.file and model.file_sha256 == ""
    assert model.digest == EXAMPLE_DIGEST
    assert model.file_size == 8
    assert MLModel.objects.get(pk=model.pk).entries.count() == 2


class TestOnS3:
    """The same over S3 (moto's server, as test_s3.py): a presigned redirect per file, or the
    file streamed by ranged GETs; the zip is always streamed from the blobs."""

    @pytest.fixture
    def s3_folder(self, bucket, bob, project):  # noqa: F811 (test_s3's fixture)
        return folder_version(bob, project, CHECKPOINT)

    def test_each_file_redirects_to_a_presigned_url_of_its_blob(self, api, s3_folder, bob, bucket):  # noqa: F811
        path = "weights/shard-00002.bin"
        key = s3_folder.entries.select_related("blob").get(path=path).blob.key

        response = api.as_user(bob).get(file_url(s3_folder, path))

        assert response.status_code == 302
        assert response["Location"].startswith(f"{bucket.endpoint}/{bucket.name}/{key}?")
        fetched = requests.get(response["Location"], timeout=30)
        assert fetched.status_code == 200 and fetched.content == CHECKPOINT[path]
        assert fetched.headers["Content-Disposition"] == 'attachment; filename="shard-00002.bin"'

    def test_without_presigning_a_range_is_served_from_a_ranged_get(self, api, s3_folder, bob, settings):
        settings.MAISIE_S3_PRESIGNED_DOWNLOADS = False
        content = CHECKPOINT["weights/shard-00002.bin"]

        response = api.as_user(bob).get(file_url(s3_folder, "weights/shard-00002.bin"), HTTP_RANGE="bytes=100-199")

        assert response.status_code == 206 and body(response) == content[100:200]
        assert response["ETag"] == f'"{sha(content)}"'
        whole = api.as_user(bob).get(file_url(s3_folder, "tokenizer/vocab_é.txt"))
        assert body(whole) == CHECKPOINT["tokenizer/vocab_é.txt"]

    def test_the_folder_zip_streams_from_the_bucket(self, api, s3_folder, bob):
        response = api.as_user(bob).get(f"/api/v1/models/{s3_folder.pk}/download/")

        assert response.status_code == 200
        data = body(response)
        assert response["Content-Length"] == str(len(data))
        verified_zip(data, CHECKPOINT)
        ranged = api.as_user(bob).get(f"/api/v1/models/{s3_folder.pk}/download/", HTTP_RANGE="bytes=500-")
        assert body(ranged) == data[500:]

"""Upload session requests that race each other on PostgreSQL, in threads with their own
connections (as test_races_pg.py): the test holds the project's row lock that a completion
takes first, lets the racers queue behind it, then lets go."""

import time

import pytest
from django.db import connection

from registry.models import MLModel, UploadSession
from registry.tests.test_races_pg import QUEUE_SECONDS, as_client, finish, holding, run_together
from registry.tests.test_upload_sessions import PART, URL, opening, part_url, send_blob, sha

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and concurrent writers: PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]

DATA = bytes(range(256)) * 9  # 2,304 bytes: three parts


@pytest.fixture(autouse=True)
def _small_parts(settings, tmp_path):
    settings.MAISIE_UPLOAD_PART_BYTES = PART
    temp_dir = tmp_path / "upload-tmp"
    temp_dir.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = temp_dir


def test_two_completes_of_one_session_make_one_version(bob, project):
    client = as_client(bob)
    opened = client.post(URL, opening(project, {"w.bin": DATA}), format="json").json()["data"]
    send_blob(client, opened["id"], DATA)
    clients = [as_client(bob) for _ in range(2)]
    lock = holding(project)

    threads, results = run_together(*[lambda c=c: c.post(opened["_links"]["complete"]) for c in clients])
    time.sleep(QUEUE_SECONDS)
    lock.__exit__(None, None, None)

    statuses = sorted(response.status_code for response in finish(threads, results))
    assert statuses[0] == 201 and statuses[1] in (404, 409), statuses
    assert MLModel.objects.count() == 1
    assert not UploadSession.objects.exists()


def test_the_same_part_sent_twice_at_once_is_taken_once(bob, project):
    client = as_client(bob)
    opened = client.post(URL, opening(project, {"w.bin": DATA}), format="json").json()["data"]
    url = part_url(opened["id"], sha(DATA), 0)
    clients = [as_client(bob) for _ in range(3)]

    threads, results = run_together(
        *[lambda c=c: c.put(url, DATA[:PART], content_type="application/octet-stream") for c in clients]
    )

    assert [r.status_code for r in finish(threads, results)] == [200, 200, 200]
    assert all(r.json()["data"]["received"] == PART for r in results)
    for number in (1, 2):
        chunk = DATA[number * PART : (number + 1) * PART]
        assert (
            client.put(
                part_url(opened["id"], sha(DATA), number), chunk, content_type="application/octet-stream"
            ).status_code
            == 200
        )
    assert client.post(opened["_links"]["complete"]).status_code == 201

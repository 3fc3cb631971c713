"""`maisie_fsck --verify` on S3: objects are re-read through the same streamed GET as downloads."""

import pytest
from django.core.management import CommandError

from registry.models import MLModel
from registry.tests.test_s3 import bucket, fsck, moto, upload_through_api  # noqa: F401 (fixtures)


def test_verify_finds_an_object_replaced_behind_the_registrys_back(api, project, bob, bucket):  # noqa: F811
    client = api.as_user(bob)
    kept = upload_through_api(client, project, b"kept bytes")
    changed = upload_through_api(client, project, b"first bytes")
    key = MLModel.objects.get(pk=changed["id"]).file.name
    bucket.put(key, b"other bytes")  # same size, other content

    assert "verified" not in fsck()
    with pytest.raises(CommandError, match="1 stored files do not match"):
        fsck("--verify")
    bucket.put(key, b"first bytes")
    report = fsck("--verify")
    assert "verified 2 files: 0 corrupt." in report and str(kept["id"]) not in report.split("verified")[0]

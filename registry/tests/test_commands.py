import io
import os
import time

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from accounts.models import User
from registry import keystats
from registry.models import MLModel, ProjectKeyCount, ProjectUploaderCount
from registry.tests.factories import upload


def _storage():
    return MLModel._meta.get_field("file").storage


def _age(name: str, minutes: int) -> None:
    path = _storage().path(name)
    past = time.time() - minutes * 60
    os.utime(path, (past, past))


def fsck(*args) -> str:
    out = io.StringIO()
    call_command("maisie_fsck", *args, stdout=out)
    return out.getvalue()


def test_fsck_is_quiet_when_files_and_rows_agree(project, bob):
    upload(bob, project)
    assert "0 orphan files and 0 rows with a missing file found" in fsck()


def test_fsck_reports_an_orphan_file_and_fix_removes_it(project, bob):
    upload(bob, project)
    orphan = _storage().save("models/ab/orphan", ContentFile(b"lost"))
    _age(orphan, 120)
    with pytest.raises(CommandError):
        fsck()
    assert _storage().exists(orphan)
    out = fsck("--fix")
    assert f"orphan file: {orphan}" in out
    assert not _storage().exists(orphan)
    assert MLModel.objects.count() == 1


def test_fsck_leaves_young_files_alone_because_an_upload_may_be_in_progress(project, bob):
    young = _storage().save("models/cd/young", ContentFile(b"arriving"))
    assert "0 orphan files" in fsck("--fix")
    assert _storage().exists(young)


def test_fsck_reports_a_row_whose_file_is_missing_and_fix_removes_the_row(project, bob):
    model = upload(bob, project)
    _storage().delete(model.file.name)
    with pytest.raises(CommandError):
        fsck()
    out = fsck("--fix")
    assert f"missing file: model {model.pk}" in out
    assert not MLModel.objects.filter(pk=model.pk).exists()


def test_fsck_fix_uncounts_the_rows_it_removes_and_keeps_the_rest(project, bob, alice):
    upload(bob, project, name="keep", hyperparameters={"lr": 0.1}, content=b"keep")
    lost = upload(bob, project, name="lost", hyperparameters={"lr": 0.2, "only_here": 1}, content=b"lost")
    other = upload(alice, project, name="lost-too", metrics={"acc": 0.5}, content=b"lost too")
    _storage().delete(lost.file.name)
    _storage().delete(other.file.name)

    out = fsck("--fix")

    assert "2 rows with a missing file removed" in out and "key counts" not in out
    assert list(MLModel.objects.values_list("name", flat=True)) == ["keep"]
    assert keystats.drift() == 0
    assert not ProjectKeyCount.objects.filter(key__in=["only_here", "acc"]).exists()
    assert list(ProjectUploaderCount.objects.values_list("uploader__login", "model_count")) == [("bob", 1)]


def test_ensure_admin_creates_admin_once_with_the_given_password(db, monkeypatch):
    monkeypatch.setenv("MAISIE_ADMIN_PASSWORD", "s3cret-pass-word")
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    admin = User.objects.get(login="admin")
    assert admin.is_superuser and admin.check_password("s3cret-pass-word")
    call_command("ensure_admin", stdout=out)
    assert User.objects.filter(is_superuser=True).count() == 1


def test_ensure_admin_generates_and_prints_a_password_once(db, monkeypatch):
    monkeypatch.delenv("MAISIE_ADMIN_PASSWORD", raising=False)
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    password = out.getvalue().rsplit(": ", 1)[1].strip()
    assert User.objects.get(login="admin").check_password(password)


def test_fsck_verify_finds_a_file_whose_bytes_changed_since_upload(project, bob):
    kept = upload(bob, project, name="kept", content=b"intact bytes")
    rotten = upload(bob, project, name="rotten", content=b"original bytes")
    path = _storage().path(rotten.file.name)
    with open(path, "r+b") as stored:  # one flipped byte, the size unchanged: bit rot
        stored.write(b"O")
    assert "corrupt" not in fsck()  # without --verify no file is read
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 stored files do not match their rows"):
        call_command("maisie_fsck", "--verify", stdout=out)
    report = out.getvalue()
    assert f"corrupt file: model {rotten.pk} {rotten.file.name}" in report
    assert f"model {kept.pk} " not in report
    assert "verified 2 files: 1 corrupt." in report


def test_fsck_verify_is_quiet_when_every_file_matches(project, bob):
    upload(bob, project, content=b"a" * 3_000_000)  # more than one read block
    assert "verified 1 files: 0 corrupt." in fsck("--verify")


def test_fsck_reports_a_stale_upload_spool_and_fix_removes_it(db, settings, tmp_path):
    from registry.uploads import spool_stale_seconds

    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "spool"
    settings.FILE_UPLOAD_TEMP_DIR.mkdir()
    stale = settings.FILE_UPLOAD_TEMP_DIR / "tmpq1w2e3.upload.pt"
    stale.write_bytes(b"half an upload")
    past = time.time() - spool_stale_seconds() - 60
    os.utime(stale, (past, past))
    fresh = settings.FILE_UPLOAD_TEMP_DIR / "tmpfresh.upload.pt"
    fresh.write_bytes(b"arriving")

    with pytest.raises(CommandError):
        fsck()
    report = fsck("--fix")
    assert f"stale upload spool: {stale} (14 bytes)" in report
    assert not stale.exists() and fresh.exists()

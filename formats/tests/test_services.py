"""Introspection of stored versions: facts per blob (read once), figures per version, the
command for versions made before, and the model page's badges."""

import io

import pytest
from django.core.management import call_command

from formats import services
from formats.models import BlobFacts, VersionFacts
from formats.tests import builders
from registry.tests.factories import folder_version, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def checkpoint(alice, project, tmp_path):
    files = {
        "model.safetensors": builders.safetensors_bytes(),
        "config.json": b'{"hidden_size": 4}',
        "extra/optimizer.pkl": builders.malicious_pickle(tmp_path / "sentinel"),
    }
    return folder_version(alice, project, files)


def test_a_folder_version_gets_its_format_parameters_and_worst_verdict(checkpoint, tmp_path):
    facts = services.version_introspect(model=checkpoint)
    assert (facts.format, facts.params, facts.tensors) == ("safetensors", builders.PARAMS, 3)
    assert (facts.verdict, facts.verdict_path) == ("suspicious", "extra/optimizer.pkl")
    stored = VersionFacts.objects.get(model=checkpoint)
    assert (stored.format, stored.params, stored.verdict) == ("safetensors", builders.PARAMS, "suspicious")
    by_path = {e.path: e.blob.facts for e in checkpoint.entries.select_related("blob__facts")}
    assert by_path["model.safetensors"].bytes_by_dtype == {"float32": 48, "float16": 10, "int64": 32}
    assert by_path["config.json"].format == "other"
    assert "posix.system" in by_path["extra/optimizer.pkl"].globals
    assert not (tmp_path / "sentinel").exists()


def test_the_same_bytes_are_read_once(alice, project, checkpoint):
    services.version_introspect(model=checkpoint)
    read_at = BlobFacts.objects.get(blob__entries__path="model.safetensors").read_at
    again = folder_version(alice, project, {"weights.safetensors": builders.safetensors_bytes()}, name="copy")
    facts = services.version_introspect(model=again)
    assert (facts.format, facts.params, facts.verdict) == ("safetensors", builders.PARAMS, "safe")
    assert BlobFacts.objects.filter(blob__entries__model=again).get().read_at == read_at


def test_a_one_file_upload_is_introspected_too(alice, project):
    model = upload(alice, project, "tiny", content=builders.onnx_bytes())
    facts = services.version_introspect(model=model)
    assert (facts.format, facts.params, facts.verdict) == ("onnx", 8, "safe")


def test_the_command_introspects_versions_made_before(alice, project, checkpoint):
    other = upload(alice, project, "plain", content=b"not a model")
    VersionFacts.objects.all().delete()
    out = io.StringIO()
    call_command("maisie_introspect", stdout=out)
    assert "Introspected 2 version(s)." in out.getvalue()
    assert VersionFacts.objects.get(model=checkpoint).verdict == "suspicious"
    assert VersionFacts.objects.get(model=other).format in ("pytorch", "other")
    call_command("maisie_introspect", stdout=out)  # nothing left to do
    assert out.getvalue().endswith("Introspected 0 version(s).\n")


def test_the_model_page_shows_the_version_and_file_badges(client, alice, checkpoint):
    services.version_introspect(model=checkpoint)
    client.force_login(alice)
    page = client.get(f"/models/{checkpoint.pk}/").content.decode()
    assert 'id="version-verdict" data-verdict="suspicious">suspicious</span>' in page
    assert "loading it runs them" in page
    assert 'data-verdict="safe">safe format</span>' in page
    assert "posix.system" in page


def test_the_model_page_says_when_nothing_was_read_yet(client, alice, checkpoint):
    client.force_login(alice)
    page = client.get(f"/models/{checkpoint.pk}/").content.decode()
    assert "Not read yet" in page


def test_facts_go_with_their_blob_and_their_version(alice, checkpoint):
    from registry import blobs
    from registry import services as registry_services

    services.version_introspect(model=checkpoint)
    shas = [entry.blob_id for entry in checkpoint.entries.all()]
    assert BlobFacts.objects.filter(pk__in=shas).count() == 3
    registry_services.model_delete(model=checkpoint, user=alice)
    blobs.release(shas)  # what the delete's on_commit does
    assert not BlobFacts.objects.filter(pk__in=shas).exists()
    assert not VersionFacts.objects.exists()

"""Introspection of blobs stored on S3 (moto's server): the readers seek, an S3 body does not,
so formats/source.py reads by ranged GETs, and a large file costs its header, not its bytes."""

import numpy as np
import pytest

from formats import services, source
from formats.tests import builders
from registry.tests.factories import upload
from registry.tests.test_s3 import bucket, moto  # noqa: F401 - the S3 fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture
def ranges(monkeypatch):
    """The byte ranges formats/source.py asks S3 for (recorded, then asked for as before)."""
    asked = []
    real = source.blobs.open_blob

    def recording(blob, wanted=None):
        asked.append(wanted)
        return real(blob, wanted)

    monkeypatch.setattr(source.blobs, "open_blob", recording)
    return asked


def test_a_large_safetensors_file_on_s3_costs_its_header(alice, project, bucket, ranges):  # noqa: F811
    big = {"embed": np.zeros((1024, 4096), dtype=np.float32), "bias": np.ones(7, dtype=np.float16)}
    data = builders.safetensors_bytes(big)
    model = upload(alice, project, "big", content=data)
    facts = services.version_introspect(model=model)
    assert (facts.format, facts.params, facts.verdict) == ("safetensors", 1024 * 4096 + 7, "safe")
    assert ranges and None not in ranges  # ranged GETs only, never the whole object
    assert sum(end - start + 1 for start, end in ranges) <= 2 * source.WINDOW < len(data)


def test_a_pytorch_zip_on_s3_is_read_from_its_directory_at_the_end(alice, project, bucket, tmp_path):  # noqa: F811
    model = upload(alice, project, "ckpt", content=builders.torch_zip(builders.malicious_pickle(tmp_path / "s")))
    facts = services.version_introspect(model=model)
    assert (facts.format, facts.verdict) == ("pytorch", "suspicious")
    assert not (tmp_path / "s").exists()

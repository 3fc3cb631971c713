"""What Maisie read from the files of a version (docs/formats.md).

BlobFacts belong to a blob, not to a version: the same bytes are read once and say the same
whichever versions hold them, and they go when the blob goes. VersionFacts are the few figures
search, ordering and downloads need about a whole version (its format, parameters, worst
verdict), one row per version so `format.params > 7e9` is a join on an indexed column rather
than a sum over its files.
"""

from django.db import models

from formats import verdicts

VERDICTS = [
    (verdicts.SAFE, "safe format"),
    (verdicts.PICKLE, "pickle"),
    (verdicts.UNKNOWN, "unknown"),
    (verdicts.SUSPICIOUS, "suspicious"),
]


class BlobFacts(models.Model):
    blob = models.OneToOneField("registry.Blob", primary_key=True, on_delete=models.CASCADE, related_name="facts")
    format = models.CharField(max_length=20)
    readable = models.BooleanField(default=True)
    reason = models.CharField(max_length=500, blank=True)  # why it was unreadable
    tensors = models.BigIntegerField(null=True)
    params = models.BigIntegerField(null=True)  # None: the format does not say
    bytes_by_dtype = models.JSONField(default=dict)
    metadata = models.JSONField(default=dict)  # the format's own (architecture, opset, ...)
    globals = models.JSONField(default=list)  # pickle formats: "module.name" imported
    verdict = models.CharField(max_length=12, choices=VERDICTS)
    verdict_reason = models.TextField(blank=True)
    # The readers' version that wrote these facts: `maisie_introspect --stale` re-reads older ones.
    reader = models.PositiveIntegerField()
    read_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "blob facts"

    def __str__(self):
        return f"{self.format} {self.blob_id[:12]}"


class VersionFacts(models.Model):
    model = models.OneToOneField(
        "registry.MLModel", primary_key=True, on_delete=models.CASCADE, related_name="format_facts"
    )
    # The format of the files holding the weights ("other" when no file is a model format).
    format = models.CharField(max_length=20)
    params = models.BigIntegerField(null=True)
    tensors = models.BigIntegerField(null=True)
    verdict = models.CharField(max_length=12, choices=VERDICTS)
    # The worst file's path and reason, shown beside the version's badge.
    verdict_path = models.CharField(max_length=1024, blank=True)
    read_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "version facts"
        indexes = [
            # Search and ordering (registry/search/fields.py: format, format.params).
            models.Index(fields=["format", "params"], name="versionfacts_format_params"),
            models.Index(fields=["params"], name="versionfacts_params"),
            models.Index(fields=["verdict"], name="versionfacts_verdict"),
        ]

    def __str__(self):
        return f"{self.format} {self.params} {self.verdict}"

"""Read the headers of existing versions' files (those made before formats existed, or all)."""

from django.core.management.base import BaseCommand

from formats import services
from formats.models import BlobFacts
from registry.models import MLModel


class Command(BaseCommand):
    help = "Introspect model versions' files: format, tensors, parameters and the pickle verdict (docs/formats.md)."

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", type=int, help="version ids (default: those not introspected yet)")
        parser.add_argument("--all", action="store_true", help="every version, read again")
        parser.add_argument("--stale", action="store_true", help="versions with a file read by older readers")

    def handle(self, *args, ids, all, stale, **options):
        models = MLModel.objects.order_by("pk")
        if ids:
            models = models.filter(pk__in=ids)
        elif stale:
            old = BlobFacts.objects.filter(reader__lt=services.READER_VERSION).values("blob_id")
            models = models.filter(entries__blob__in=old).distinct()
        elif not all:
            models = models.filter(format_facts__isnull=True)
        done = 0
        for model in models.iterator(chunk_size=200):
            try:
                facts = services.version_introspect(model=model, refresh=all or stale or bool(ids))
            except OSError as e:
                self.stderr.write(f"{model.pk} {model}: its files could not be read ({e})")
                continue
            done += 1
            if facts is not None and options["verbosity"] > 1:
                self.stdout.write(f"{model.pk} {model}: {facts.format}, {facts.params} params, {facts.verdict}")
        self.stdout.write(f"Introspected {done} version(s).")

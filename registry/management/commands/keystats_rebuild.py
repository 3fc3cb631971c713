"""`manage.py keystats_rebuild`: recount the key and uploader counts from the models."""

from django.core.management.base import BaseCommand

from registry import keystats
from registry.models import ProjectKeyCount, ProjectUploaderCount


class Command(BaseCommand):
    help = (
        "Recount the JSON keys and uploaders of every project's models (or of --project ids), which "
        "the web UI's key lists and the API's all_* read. Services keep them; run this after writes "
        "that bypass them, such as bulk loads. Writes to the projects wait while it runs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, action="append", help="a project id (repeat for more)")

    def handle(self, *args, project: list[int] | None, **options):
        keystats.rebuild(project_ids=project)
        keys, uploaders = (model.objects.all() for model in (ProjectKeyCount, ProjectUploaderCount))
        if project:
            keys, uploaders = keys.filter(project__in=project), uploaders.filter(project__in=project)
        self.stdout.write(f"Recounted: {keys.count()} key rows, {uploaders.count()} uploader rows.")

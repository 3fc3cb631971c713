# One RegisteredModel per existing (project, name), its counter at the highest version number
# in use, every model linked to it; and workspace names made unique (references name them),
# renaming clashing workspaces visibly and saying so. Written by hand (issue 14).

import sys

from django.db import migrations
from django.db.models import Count, Max, OuterRef, Subquery


def fill_registered_models(apps, schema_editor):
    MLModel = apps.get_model("registry", "MLModel")
    RegisteredModel = apps.get_model("registry", "RegisteredModel")
    series = MLModel.objects.order_by().values("project_id", "name").annotate(last=Max("version"))
    RegisteredModel.objects.bulk_create(
        (RegisteredModel(project_id=row["project_id"], name=row["name"], last_version=row["last"]) for row in series),
        batch_size=1000,
    )
    # One statement, however many models.
    MLModel.objects.update(
        registered_model=Subquery(
            RegisteredModel.objects.filter(project_id=OuterRef("project_id"), name=OuterRef("name")).values("pk")[:1]
        )
    )


def suffixed(name: str, number: int, max_length: int = 200) -> str:
    suffix = f" ({number})"
    return name[: max_length - len(suffix)] + suffix


def rename_clashing_workspaces(apps, schema_editor):
    """The oldest workspace keeps a shared name; the others become "<name> (2)", "(3)", ..."""
    Workspace = apps.get_model("registry", "Workspace")
    clashes = Workspace.objects.order_by().values("name").annotate(n=Count("pk")).filter(n__gt=1)
    taken = set(Workspace.objects.values_list("name", flat=True))
    for name in sorted(row["name"] for row in clashes):
        for workspace in Workspace.objects.filter(name=name).order_by("pk")[1:]:
            number = 2
            while suffixed(name, number) in taken:
                number += 1
            workspace.name = suffixed(name, number)
            taken.add(workspace.name)
            workspace.save(update_fields=["name"])
            # For the operator running `migrate`: references use these names from now on.
            message = f"Workspace {workspace.pk} renamed from {name!r} to {workspace.name!r} (names are unique)"
            sys.stdout.write(f"\n  {message}")


class Migration(migrations.Migration):
    dependencies = [("registry", "0005_registered_models")]

    operations = [
        migrations.RunPython(fill_registered_models, migrations.RunPython.noop),
        migrations.RunPython(rename_clashing_workspaces, migrations.RunPython.noop),
    ]

# Tags belong to a workspace (issue 20, item 8): names are unique per workspace, no longer
# globally, and a model carries only tags of its own project's workspace. Written by hand.

import sys
from collections import defaultdict

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count

# Where tags that no model carried go when there is not exactly one workspace to put them in:
# a workspace with no members, so only staff see it (in the admin they can move such a tag).
HOLDING_WORKSPACE = "Tags from before workspaces"


def _fire_deferred_checks(schema_editor) -> None:
    # PostgreSQL refuses to ALTER a table with pending (deferred) foreign-key checks from the
    # rows just updated; check them now, then defer again as Django's connection expects.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        schema_editor.execute("SET CONSTRAINTS ALL DEFERRED")


def split_tags(apps, schema_editor):
    """Each global tag becomes one tag per workspace whose models carry it: the first workspace
    (lowest id) keeps the tag's row and id, the others get a copy with the same name and
    description, and their models' links move to it. Nothing is dropped."""
    db = schema_editor.connection.alias
    Tag = apps.get_model("registry", "Tag")
    Workspace = apps.get_model("registry", "Workspace")
    Link = apps.get_model("registry", "MLModel").tags.through

    uses = defaultdict(list)
    pairs = (
        Link.objects.using(db)
        .values_list("tag_id", "mlmodel__project__workspace_id")
        .distinct()
        .order_by("tag_id", "mlmodel__project__workspace_id")
    )
    for tag_id, workspace_id in pairs:
        uses[tag_id].append(workspace_id)
    for tag in Tag.objects.using(db).filter(pk__in=list(uses)).order_by("pk").iterator():
        first, *others = uses[tag.pk]
        Tag.objects.using(db).filter(pk=tag.pk).update(workspace_id=first)
        for workspace_id in others:
            copy = Tag.objects.using(db).create(workspace_id=workspace_id, name=tag.name, description=tag.description)
            Link.objects.using(db).filter(tag_id=tag.pk, mlmodel__project__workspace_id=workspace_id).update(
                tag_id=copy.pk
            )

    unused = Tag.objects.using(db).filter(workspace__isnull=True)
    if unused.exists():
        workspaces = list(Workspace.objects.using(db).order_by("pk").values_list("pk", flat=True)[:2])
        if len(workspaces) == 1:  # one team: its workspace is where these tags were meant for
            home = workspaces[0]
        else:
            home = (
                Workspace.objects.using(db)
                .create(
                    name=HOLDING_WORKSPACE,
                    description="Tags no model carried when tags became per workspace. Only staff see them; "
                    "move one to its workspace in the admin, or delete this workspace.",
                )
                .pk
            )
            sys.stdout.write(
                f"\n  {unused.count()} tag(s) that no model carried were put in a new workspace "
                f"{HOLDING_WORKSPACE!r} (id {home}), which only staff see.\n"
            )
        unused.update(workspace_id=home)
    _fire_deferred_checks(schema_editor)


def merge_tags(apps, schema_editor):
    """Back to global names: the tags of one name become the lowest-id one (its description,
    or the first non-empty one), carrying every link the others had."""
    db = schema_editor.connection.alias
    Tag = apps.get_model("registry", "Tag")
    Workspace = apps.get_model("registry", "Workspace")
    Link = apps.get_model("registry", "MLModel").tags.through

    repeated = (
        Tag.objects.using(db).order_by().values("name").annotate(n=Count("pk")).filter(n__gt=1).values_list("name")
    )
    for name in [row[0] for row in repeated]:
        keep, *rest = Tag.objects.using(db).filter(name=name).order_by("pk")
        if not keep.description:
            keep.description = next((tag.description for tag in rest if tag.description), "")
            keep.save(update_fields=["description"])
        for tag in rest:
            carried = Link.objects.using(db).filter(tag_id=keep.pk).values("mlmodel_id")
            Link.objects.using(db).filter(tag_id=tag.pk, mlmodel_id__in=carried).delete()
            Link.objects.using(db).filter(tag_id=tag.pk).update(tag_id=keep.pk)
            tag.delete()
    Tag.objects.using(db).update(workspace_id=None)
    Workspace.objects.using(db).filter(name=HOLDING_WORKSPACE, projects__isnull=True, memberships__isnull=True).delete()
    _fire_deferred_checks(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0003_project_key_counts"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="tag",
            options={"ordering": ["name", "id"]},
        ),
        migrations.AddField(
            model_name="tag",
            name="workspace",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.CASCADE, related_name="tags", to="registry.workspace"
            ),
        ),
        migrations.AlterField(
            model_name="tag",
            name="name",
            field=models.CharField(max_length=100),
        ),
        migrations.RunPython(split_tags, merge_tags),
        migrations.AlterField(
            model_name="tag",
            name="workspace",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="tags", to="registry.workspace"
            ),
        ),
        migrations.AddConstraint(
            model_name="tag",
            constraint=models.UniqueConstraint(fields=("workspace", "name"), name="tag_unique_name"),
        ),
    ]

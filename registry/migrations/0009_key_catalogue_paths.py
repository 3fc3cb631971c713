# Written by hand: a data migration, no schema change.

from django.db import migrations


def rebuild_key_catalogue(apps, schema_editor):
    """Recount the key catalogue: nested dictionaries now count by their leaves' paths
    (`optimizer.lr`), where 0003-0008 counted the top-level key with its dictionary as text.

    keystats.rebuild is the recount `manage.py keystats_rebuild` and `maisie_fsck --fix` run; it
    reads the models' table with SQL of its own and locks every project while it counts.
    """
    from registry import keystats

    keystats.rebuild(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0008_git_provenance"),
    ]

    # Going back leaves paths that the older code would count as drift: run
    # `manage.py keystats_rebuild` after migrating backwards.
    operations = [
        migrations.RunPython(rebuild_key_catalogue, migrations.RunPython.noop),
    ]

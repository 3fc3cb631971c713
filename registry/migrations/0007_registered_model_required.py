# Every model now belongs to its registered model, and workspace names are unique (issue 14).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("registry", "0006_fill_registered_models")]

    operations = [
        migrations.AlterField(
            model_name="mlmodel",
            name="registered_model",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.RESTRICT,
                related_name="versions",
                to="registry.registeredmodel",
            ),
        ),
        migrations.AddConstraint(
            model_name="workspace",
            constraint=models.UniqueConstraint(fields=("name",), name="workspace_unique_name"),
        ),
    ]

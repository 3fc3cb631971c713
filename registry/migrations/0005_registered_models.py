# Registered models and aliases (issue 14). Written by hand, in three steps so that no
# migration both changes rows and alters their table (PostgreSQL refuses an ALTER with pending
# deferred checks): 0005 adds the tables and a nullable link, 0006 fills them, 0007 tightens.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import registry.models


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("registry", "0004_tag_workspace"),
    ]

    operations = [
        migrations.CreateModel(
            name="RegisteredModel",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=200)),
                ("description", models.TextField(blank=True, help_text="Markdown: the model card.")),
                ("last_version", models.PositiveIntegerField(default=0, editable=False)),
                ("created", models.DateTimeField(auto_now_add=True)),
                ("updated", models.DateTimeField(auto_now=True)),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="registered_models",
                        to="registry.project",
                    ),
                ),
            ],
            options={
                "ordering": ["name", "id"],
                "constraints": [
                    models.UniqueConstraint(fields=("project", "name"), name="registeredmodel_unique_name")
                ],
            },
        ),
        migrations.AddField(
            model_name="mlmodel",
            name="registered_model",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.RESTRICT,
                related_name="versions",
                to="registry.registeredmodel",
            ),
        ),
        migrations.CreateModel(
            name="Alias",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=64, validators=[registry.models.validate_alias_name])),
                ("set_at", models.DateTimeField()),
                (
                    "registered_model",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="aliases",
                        to="registry.registeredmodel",
                    ),
                ),
                (
                    "set_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.RESTRICT,
                        related_name="aliases",
                        to="registry.mlmodel",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "aliases",
                "ordering": ["name", "id"],
                "constraints": [models.UniqueConstraint(fields=("registered_model", "name"), name="alias_unique_name")],
            },
        ),
    ]

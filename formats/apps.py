from django.apps import AppConfig


class FormatsConfig(AppConfig):
    name = "formats"
    verbose_name = "Model formats"
    default_auto_field = "django.db.models.BigAutoField"

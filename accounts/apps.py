from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from accounts import recent, schema  # noqa: F401  (OpenAPI auth extensions; the sign-in time receiver)

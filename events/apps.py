from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.backends.signals import connection_created

        from events import append_only

        connection_created.connect(append_only.on_connection_created, dispatch_uid="maisie_events_append_only")

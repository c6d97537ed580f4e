from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "waldur_do.events"
    label = "events"
    verbose_name = "Event history"
    default_auto_field = "django.db.models.BigAutoField"

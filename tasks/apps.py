from django.apps import AppConfig


class TasksConfig(AppConfig):
    """Everything Celery: the app, the queues, the droplet tasks and the periodic jobs."""

    name = "tasks"

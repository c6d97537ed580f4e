from django.apps import AppConfig


class TasksConfig(AppConfig):
    """Everything Celery: the app, queues, the task base class and the periodic jobs."""

    name = "tasks"

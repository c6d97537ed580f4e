"""The Celery app: `celery -A tasks worker` and `celery -A tasks beat`, configured from Django settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.dev")

app = Celery("waldur_do")
app.config_from_object("django.conf:settings", namespace="CELERY")

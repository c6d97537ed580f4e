"""Abstract model pieces every resource shares."""

import uuid

from django.db import models


class UuidModel(models.Model):
    """The public identity of a row: API paths and hyperlinks use it, never the integer key."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        abstract = True


class TimestampedModel(models.Model):
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

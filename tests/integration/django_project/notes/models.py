"""One model: a note and the thread its row was written on."""

from __future__ import annotations

from django.db import models


class Note(models.Model):
    text = models.CharField(max_length=200, unique=True)
    thread = models.CharField(max_length=100)

    class Meta:
        app_label = "notes"

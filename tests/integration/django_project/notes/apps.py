"""App config: registers the connection tracker of ``notes.diag``."""

from __future__ import annotations

from django.apps import AppConfig


class NotesConfig(AppConfig):
    name = "django_project.notes"
    label = "notes"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from django_project.notes.diag import track_connection

        connection_created.connect(track_connection, dispatch_uid="notes-track-connection")

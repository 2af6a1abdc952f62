"""Routes of the test project (all in the ``notes`` app)."""

from __future__ import annotations

from django.urls import path

from django_project.notes import views

urlpatterns = [
    path("async/notes/", views.async_create),
    path("async/notes/batch/", views.async_create_batch),
    path("async/notes/count/", views.async_count),
    path("async/notes/<int:pk>/", views.async_get),
    path("async/notes/native-count/", views.native_async_count),
    path("sync/notes/", views.sync_create),
    path("sync/notes/<int:pk>/", views.sync_get),
    path("sync/notes/rolled-back/", views.sync_create_atomic),
    path("decorated/notes/", views.decorated_async_create),
    path("decorated/notes/count/", views.decorated_sync_count),
    path("unsafe/notes/count/", views.unsafe_async_count),
    path("diag/", views.diag),
]

"""Settings of the test project: SQLite in the file ``DJANGO_PROJECT_DB`` names."""

from __future__ import annotations

import os

SECRET_KEY = "only-for-the-synchronaut-test-suite"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = ["django_project.notes"]
# No CSRF or session middleware: the tests post without cookies. The one middleware
# is the pattern under test: each request gets a thread of its own for its
# thread-sensitive ORM calls, and that thread's connection is closed at the end.
MIDDLEWARE = ["django_project.notes.middleware.thread_sensitive_requests"]
ROOT_URLCONF = "django_project.urls"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["DJANGO_PROJECT_DB"],
        # Writers on several threads at once: each one waits for the lock.
        "OPTIONS": {"timeout": 30},
        # Django's default, said out loud: a connection lives for one request.
        "CONN_MAX_AGE": 0,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True

# With DEBUG off Django prints no request errors: the tests read them from stderr.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR"}},
}

"""A small real Django project, served by uvicorn in the integration tests.

``notes`` is its one app: async views reach the ORM through
``@synchronaut(thread_sensitive=True)`` functions, sync views call async code
through synchronaut. The database is a SQLite file named by ``DJANGO_PROJECT_DB``.
"""

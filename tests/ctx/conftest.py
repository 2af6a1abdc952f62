"""The synchronaut_ctx tests use the shared ``backend``/``run`` fixtures (tests/conftest.py)."""

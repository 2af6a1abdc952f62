"""The test project's one app: notes, each recording the thread that wrote it."""

"""What every app may import: it imports no app of the project.

Service errors, the clock, after-commit hooks, webhook signing, per-process singletons,
HTTP header parsing, the risk-tier vocabulary, and the restart backoff and process group that
supervise the worker's processes (importable without Django or Celery).
"""

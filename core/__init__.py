"""What every app may import: it imports no app of the project.

Service errors, the clock, after-commit hooks, webhook signing, per-process singletons,
HTTP header parsing and the risk-tier vocabulary.
"""

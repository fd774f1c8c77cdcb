"""Checks of an eval case: plain functions over what its task did (observed.py)."""

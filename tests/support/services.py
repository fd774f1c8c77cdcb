"""The test suite's PostgreSQL and Redis: started before pytest-django reads settings.

Settings start nothing when imported (console/embedded.py), so the suite starts what no
DATABASE_URL / REDIS_URL names, the way `manage.py` does. Loaded with `-p` (pyproject.toml),
it runs before any conftest; as a hook wrapper it runs before pytest-django's own hook,
which imports the settings.
"""

import os
from collections.abc import Generator

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> Generator[None, None, None]:
    # Importing the console package imports its Celery app, which defaults DJANGO_SETTINGS_MODULE
    # to the development settings; pytest-django would prefer that to pyproject's test settings.
    configured = os.environ.get("DJANGO_SETTINGS_MODULE")
    from console import embedded

    if configured is None:
        os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    embedded.services_start()
    return (yield)

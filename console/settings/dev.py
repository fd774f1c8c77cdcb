from console.env import env_bool
from console.settings.base import *  # noqa: F403

# Django's debug pages for the console under `make run`. `manage.py worker` runs without them
# whatever this says (console/management/commands/worker.py).
DEBUG = env_bool("DJANGO_DEBUG", True)

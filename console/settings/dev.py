from console.settings.base import *  # noqa: F403

DEBUG = True
